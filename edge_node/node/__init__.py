"""The daemon's loop and the parts it composes: engine, controller, publisher, inbox, health."""

from edge_node.node.loop import Node

__all__ = ["Node"]
