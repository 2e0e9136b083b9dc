"""Home Assistant MQTT discovery (placeholder until the discovery issue lands)."""

from __future__ import annotations

from edge_node.config import Config
from edge_node.mqtt_link import Message


def discovery_messages(config: Config, *, version: str) -> list[Message]:
    """Retained discovery configs for this node."""
    return []
