"""Forget: remove this node's device from Home Assistant and clear its retained topics on the broker."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import paho.mqtt.client as paho

from edge_node.cli.common import add_config_arguments, config_from_args, tool_logging
from edge_node.config import BrokerAddress, Config
from edge_node.datadir import JsonStore
from edge_node.mqtt.discovery import DISCOVERY_FILE, PublishedDiscovery, discovery_topics
from edge_node.mqtt.link import LinkError, TlsOptions, connect_tool
from edge_node.mqtt.topics import DiscoveryTopics, NodeTopics

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
# Retained messages arrive right after the SUBACK; collection ends after this long without one.
QUIET_S = 0.7
COLLECT_MAX_S = 10.0
PUBLISH_TIMEOUT_S = 10.0
EXIT_BROKER = 2  # as the node: one line on stderr, exit code 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--keep-state` and the config flags."""
    parser.add_argument(
        "--keep-state",
        action="store_true",
        help="only remove the device from Home Assistant; keep the node's retained deskpulse/<node>/ topics",
    )
    add_config_arguments(parser)


@dataclass
class Retained:
    """Retained topics seen after subscribing, and whether the node says it is online."""

    topics: set[str] = field(default_factory=set)
    online: bool = False
    last_at: float = field(default_factory=time.monotonic)
    subscribed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def main(args: argparse.Namespace) -> int:
    """Forget the configured node on its broker (the embedded broker's port when none is set)."""
    config = config_from_args(args)
    tool_logging(config)
    address = config.tool_address()
    return forget(config, address, keep_state=args.keep_state)


def forget(config: Config, address: BrokerAddress, *, keep_state: bool = False) -> int:
    """Clear the node's discovery configs (and, unless `keep_state`, its retained topics)."""
    node = NodeTopics(config.node_id)
    discovery = DiscoveryTopics(config.node_id, config.homeassistant.discovery_prefix)
    store = JsonStore(config.data_dir)
    recorded = store.load(DISCOVERY_FILE, PublishedDiscovery)
    seen = Retained()

    try:
        client = connect_tool(address, TlsOptions.from_config(config.mqtt), timeout=CONNECT_TIMEOUT_S)
    except LinkError as exc:
        print(f"deskpulse-edge forget: {exc}", file=sys.stderr)
        return EXIT_BROKER

    def on_message(_c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        """Record retained, non-empty messages (paho's network thread)."""
        if not message.retain or not message.payload:
            return
        with seen.lock:
            seen.topics.add(message.topic)
            seen.last_at = time.monotonic()
            if message.topic == node.availability and message.payload == b"online":
                seen.online = True

    def on_subscribe(*_args: object) -> None:
        """The SUBACK: retained messages follow it."""
        seen.last_at = time.monotonic()
        seen.subscribed.set()

    client.on_message = on_message
    client.on_subscribe = on_subscribe
    try:
        filters = [discovery.device_config, discovery.component_config("+", "+")]
        filters.append(node.availability if keep_state else node.everything)
        result, _mid = client.subscribe([(topic, 1) for topic in filters])
        if result != paho.MQTT_ERR_SUCCESS or not seen.subscribed.wait(CONNECT_TIMEOUT_S):
            print(
                f"deskpulse-edge forget: the broker {address.redacted()} did not confirm the subscription "
                f"within {CONNECT_TIMEOUT_S:.0f} s",
                file=sys.stderr,
            )
            return EXIT_BROKER
        _wait_quiet(seen)
        with seen.lock:
            found = set(seen.topics)
            online = seen.online
        configs = _config_topics(config, found, recorded)
        node_topics = [] if keep_state else sorted(t for t in found if node.owns(t))
        _clear(client, [*configs, *node_topics])
    finally:
        client.loop_stop()
        client.disconnect()
    store.delete(DISCOVERY_FILE)
    _report(config, configs, node_topics, online=online, keep_state=keep_state)
    return 0


def _wait_quiet(seen: Retained) -> None:
    """Until no retained message came for QUIET_S (or COLLECT_MAX_S passed)."""
    deadline = time.monotonic() + COLLECT_MAX_S
    while time.monotonic() < deadline:
        with seen.lock:
            quiet_for = time.monotonic() - seen.last_at
        if quiet_for >= QUIET_S:
            return
        time.sleep(0.05)


def _config_topics(config: Config, found: Iterable[str], recorded: PublishedDiscovery | None) -> list[str]:
    """Discovery configs to clear: on the broker, recorded in the data dir, and this config's own."""
    # This config's own too: a broker ACL may hide homeassistant/# from the node's user.
    node = NodeTopics(config.node_id)
    configs = {t for t in found if not node.owns(t)}
    configs.update(recorded.topics if recorded else ())
    ha_on = config.model_copy(
        update={"homeassistant": config.homeassistant.model_copy(update={"enabled": True})}
    )
    configs.update(discovery_topics(ha_on))
    return sorted(configs)


def _clear(client: paho.Client, topics: Iterable[str]) -> None:
    """Publish an empty retained message on each topic and wait until the broker has them."""
    infos = [client.publish(topic, b"", qos=1, retain=True) for topic in topics]
    deadline = time.monotonic() + PUBLISH_TIMEOUT_S
    for info in infos:
        info.wait_for_publish(max(0.1, deadline - time.monotonic()))


def _report(
    config: Config, configs: list[str], node_topics: list[str], *, online: bool, keep_state: bool
) -> None:
    """Tell the user what was cleared and whether the node would publish it again."""
    prefix = config.homeassistant.discovery_prefix
    print(
        f"removed node '{config.node_id}' from Home Assistant: cleared {len(configs)} discovery "
        f"config(s) under {prefix}/"
    )
    if not keep_state:
        print(f"cleared {len(node_topics)} retained topic(s) under {NodeTopics(config.node_id).base}/")
    if online:
        print(
            f"node '{config.node_id}' is still running: it publishes its discovery again when it reconnects "
            "or Home Assistant restarts. Stop it (e.g. systemctl stop deskpulse-edge) or set "
            "homeassistant.enabled = false, then run forget again."
        )
    else:
        print(f"node '{config.node_id}' is not running.")
