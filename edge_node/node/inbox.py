"""What paho's network thread hands the processing loop: validated commands and link events.

The callbacks here run on paho's thread: they validate and enqueue, never block, and never touch
camera, model or node state. The loop drains the bounded queue on its own thread.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from edge_node.mqtt.commands import Command, Rejection, parse_command
from edge_node.mqtt.topics import DiscoveryTopics, NodeTopics

log = logging.getLogger(__name__)

QUEUE_SIZE: Final = 256


@dataclass(frozen=True)
class HaBirth:
    """Home Assistant announced itself on `homeassistant/status`."""


@dataclass(frozen=True)
class Connected:
    """The link (re)connected; the negotiated protocol may have changed."""


InboxItem = Command | Rejection | HaBirth | Connected


class Inbox:
    """A bounded queue between paho's network thread and the processing loop."""

    def __init__(self, topics: NodeTopics, discovery: DiscoveryTopics, *, ha_enabled: bool) -> None:
        self._topics = topics
        self._discovery = discovery
        self._ha_enabled = ha_enabled
        self._queue: queue.Queue[InboxItem] = queue.Queue(QUEUE_SIZE)

    def subscriptions(self) -> list[str]:
        """The topic filters the link subscribes to on every connect."""
        topics = [self._topics.set_wildcard]
        if self._ha_enabled:
            topics.append(self._discovery.status)
        return topics

    def on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        """Validate and enqueue (paho's thread)."""
        if topic == self._discovery.status:
            if payload.strip().lower() == b"online":
                self._put(HaBirth())
            return
        setting = self._topics.parse_set(topic)
        if setting is not None:
            self._put(parse_command(setting, payload, retained=retained))

    def on_connected(self) -> None:
        """Called by the link after every (re)connect (paho's thread)."""
        self._put(Connected())

    def _put(self, item: InboxItem) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            log.warning("command queue full (%d); dropped a command", QUEUE_SIZE)

    def drain(self) -> Iterator[InboxItem]:
        """Everything queued so far, oldest first, without waiting (the loop's thread)."""
        while True:
            try:
                yield self._queue.get_nowait()
            except queue.Empty:
                return
