"""The one place that builds the node's parts and connects them (used by `run` and the benchmarks)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from edge_node.config import BrokerAddress, Config
from edge_node.datadir import JsonStore
from edge_node.mqtt.link import MqttLink, MqttProtocol, TlsOptions
from edge_node.mqtt.topics import NodeTopics
from edge_node.node import Node
from edge_node.node.engine import Estimator
from edge_node.stats.tracker import Tracker, open_tracker
from edge_node.vision.capture import Capture
from edge_node.vision.frames import LatestSlot
from edge_node.vision.pose import PoseEstimator
from edge_node.vision.sources import FrameSource
from edge_node.watchdog import SystemdNotifier

log = logging.getLogger(__name__)


@dataclass
class Parts:
    """A node and what it is made of, ready to start: `link.start()`, then `node.run(stop)`."""

    config: Config
    link: MqttLink
    capture: Capture
    slot: LatestSlot
    estimator: Estimator
    tracker: Tracker
    node: Node

    def close(self) -> None:
        """Stop what `run` started, in order: the node (camera, stats), then the link."""
        self.node.shutdown()
        self.link.stop(timeout=1.5)
        close = getattr(self.estimator, "close", None)
        if callable(close):
            close()


def pose_estimator(config: Config) -> PoseEstimator:
    """MediaPipe as the config asks for it (loads the model: about a second)."""
    posture = config.posture
    return PoseEstimator(model_complexity=posture.model_complexity, static_images=not posture.tracking)


def build(
    config: Config,
    address: BrokerAddress,
    *,
    protocol: MqttProtocol | None = None,
    dashboard_url: str | None = None,
    estimator: Estimator | None = None,
    source_factory: Callable[[Config], FrameSource] | None = None,
    notifier: SystemdNotifier | None = None,
    client_id: str | None = None,
) -> Parts:
    """Every part of a node for `config`, talking to the broker at `address`; raise LinkError."""
    holder: list[Node] = []

    def on_command(topic: str, payload: bytes, retained: bool) -> None:
        if holder:
            holder[0].inbox.on_message(topic, payload, retained)

    def on_connected() -> None:
        if holder:
            holder[0].inbox.on_connected()

    link = MqttLink(
        address,
        client_id=client_id or config.mqtt.client_id or f"deskpulse-{config.node_id}",
        availability_topic=NodeTopics(config.node_id).availability,
        on_command=on_command,
        on_connected=on_connected,
        keepalive=config.mqtt.keepalive,
        protocol=protocol or config.mqtt.protocol,
        tls=TlsOptions.from_config(config.mqtt),
        reconnect_max_s=config.mqtt.reconnect_max_s,
        announce_first=lambda topic: topic.startswith(config.homeassistant.discovery_prefix + "/"),
    )
    if estimator is None:
        log.info("loading the pose model")
        estimator = pose_estimator(config)
    slot = LatestSlot()
    if source_factory is None:
        capture = Capture(config.camera, slot)
    else:
        factory = source_factory
        capture = Capture(config.camera, slot, source_factory=lambda _camera: factory(config))
    tracker = open_tracker(
        node_id=config.node_id, alerts=config.alerts, stats=config.stats, data_dir=config.data_dir
    )
    node = Node(
        config,
        link=link,
        capture=capture,
        slot=slot,
        estimator=estimator,
        tracker=tracker,
        store=JsonStore(config.data_dir),
        notifier=notifier,
        dashboard_url=dashboard_url,
    )
    holder.append(node)
    link.set_subscriptions(node.inbox.subscriptions())
    return Parts(config, link, capture, slot, estimator, tracker, node)
