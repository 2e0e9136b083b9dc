"""The one module that builds and parses DeskPulse MQTT topics (docs/contract.md, "Topic tree")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from edge_node.vocabulary import Setting, is_valid_node_id

PREFIX: Final = "deskpulse"
HA_DEFAULT_PREFIX: Final = "homeassistant"

# Topics that are state (readable by anonymous clients on a secured broker); `frame` is not.
STATE_LEAVES: Final = ("availability", "state", "camera", "stats", "history", "event", "info", "pose")


def all_nodes(leaf: str = "#") -> str:
    """Subscription filter across all nodes, e.g. `deskpulse/#` or `deskpulse/+/frame`."""
    return f"{PREFIX}/{leaf}" if leaf == "#" else f"{PREFIX}/+/{leaf}"


@dataclass(frozen=True)
class NodeTopics:
    """All topics of one node, `deskpulse/<node>/…`."""

    node_id: str

    def __post_init__(self) -> None:
        if not is_valid_node_id(self.node_id):
            raise ValueError(f"node id {self.node_id!r} must match [a-z0-9_-]+")

    @property
    def base(self) -> str:
        """`deskpulse/<node>`."""
        return f"{PREFIX}/{self.node_id}"

    @property
    def availability(self) -> str:
        """`online` / `offline` (the Last Will)."""
        return f"{self.base}/availability"

    @property
    def state(self) -> str:
        """The steady posture."""
        return f"{self.base}/state"

    @property
    def frame(self) -> str:
        """Raw JPEG frames."""
        return f"{self.base}/frame"

    @property
    def camera(self) -> str:
        """The camera's status."""
        return f"{self.base}/camera"

    @property
    def stats(self) -> str:
        """Today's totals and pipeline health."""
        return f"{self.base}/stats"

    @property
    def history(self) -> str:
        """The last 7 days and the trend."""
        return f"{self.base}/history"

    @property
    def event(self) -> str:
        """Alerts and other events (not retained)."""
        return f"{self.base}/event"

    @property
    def pose(self) -> str:
        """The skeleton behind the verdict (no picture)."""
        return f"{self.base}/pose"

    @property
    def info(self) -> str:
        """Version, model and effective config."""
        return f"{self.base}/info"

    @property
    def everything(self) -> str:
        """Subscription filter for every topic of this node (`deskpulse/<node>/#`)."""
        return f"{self.base}/#"

    def owns(self, topic: str) -> bool:
        """True for a topic under `deskpulse/<node>/`."""
        return topic.startswith(self.base + "/")

    def setting_set(self, setting: Setting) -> str:
        """Where a command for `setting` is sent."""
        return f"{self.base}/{setting}/set"

    def setting_state(self, setting: Setting) -> str:
        """Where the node publishes `setting`'s value."""
        return f"{self.base}/{setting}/state"

    @property
    def set_wildcard(self) -> str:
        """Subscription filter for every command of this node."""
        return f"{self.base}/+/set"

    def parse_set(self, topic: str) -> str | None:
        """Return the setting name of a `…/<setting>/set` topic of this node, else None.

        The name is returned even when it is not a known setting, so the caller can reject it
        with a clear reason.
        """
        prefix = self.base + "/"
        if not topic.startswith(prefix) or not topic.endswith("/set"):
            return None
        name = topic[len(prefix) : -len("/set")]
        return name if name and "/" not in name else None


@dataclass(frozen=True)
class DiscoveryTopics:
    """Home Assistant MQTT discovery topics for one node."""

    node_id: str
    prefix: str = HA_DEFAULT_PREFIX

    @property
    def device_id(self) -> str:
        """`deskpulse_<node>`: the Home Assistant device id and the start of every unique id."""
        return f"deskpulse_{self.node_id}"

    @property
    def device_config(self) -> str:
        """Device-based discovery (Home Assistant 2024.11+)."""
        return f"{self.prefix}/device/{self.device_id}/config"

    def component_config(self, component: str, object_id: str) -> str:
        """Per-component discovery (older Home Assistant)."""
        return f"{self.prefix}/{component}/{self.device_id}/{object_id}/config"

    @property
    def status(self) -> str:
        """Home Assistant's birth/last-will topic."""
        return f"{self.prefix}/status"
