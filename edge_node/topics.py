"""The one module that builds and parses DeskPulse MQTT topics (DESIGN.md, "Topic tree")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

PREFIX: Final = "deskpulse"
NODE_ID_PATTERN: Final = re.compile(r"^[a-z0-9_-]+$")
HA_DEFAULT_PREFIX: Final = "homeassistant"

Setting = Literal["monitoring", "frames", "alert_minutes", "sensitivity", "calibrate"]
SETTINGS: Final[tuple[Setting, ...]] = ("monitoring", "frames", "alert_minutes", "sensitivity", "calibrate")

# Topics that are state (readable by anonymous clients on a secured broker); `frame` is not.
STATE_LEAVES: Final = ("availability", "state", "camera", "stats", "history", "event", "info")


def is_valid_node_id(node_id: str) -> bool:
    """Return True if `node_id` may be used as a topic level."""
    return bool(NODE_ID_PATTERN.fullmatch(node_id))


def slugify_node_id(text: str) -> str:
    """Turn a host name or label into a valid node id (`[a-z0-9_-]+`)."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")
    return slug or "desk"


@dataclass(frozen=True)
class NodeTopics:
    """All topics of one node, `deskpulse/<node>/…`."""

    node_id: str

    def __post_init__(self) -> None:
        if not is_valid_node_id(self.node_id):
            raise ValueError(f"node id {self.node_id!r} must match [a-z0-9_-]+")

    @property
    def base(self) -> str:
        return f"{PREFIX}/{self.node_id}"

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def frame(self) -> str:
        return f"{self.base}/frame"

    @property
    def camera(self) -> str:
        return f"{self.base}/camera"

    @property
    def stats(self) -> str:
        return f"{self.base}/stats"

    @property
    def history(self) -> str:
        return f"{self.base}/history"

    @property
    def event(self) -> str:
        return f"{self.base}/event"

    @property
    def info(self) -> str:
        return f"{self.base}/info"

    def setting_set(self, setting: Setting) -> str:
        return f"{self.base}/{setting}/set"

    def setting_state(self, setting: Setting) -> str:
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


def node_wildcard(leaf: str = "#") -> str:
    """Subscription filter across all nodes, e.g. `deskpulse/+/state`."""
    return f"{PREFIX}/+/{leaf}"


def parse_node_topic(topic: str) -> tuple[str, str] | None:
    """Split `deskpulse/<node>/<rest>` into (node, rest), or None if it is not a node topic."""
    parts = topic.split("/", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not is_valid_node_id(parts[1]):
        return None
    return parts[1], parts[2]


@dataclass(frozen=True)
class DiscoveryTopics:
    """Home Assistant MQTT discovery topics for one node."""

    node_id: str
    prefix: str = HA_DEFAULT_PREFIX

    @property
    def device_id(self) -> str:
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
