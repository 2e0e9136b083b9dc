"""Run: the node itself (the default command), until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from types import FrameType

from edge_node import __version__
from edge_node.cli.common import add_config_arguments, config_from_args, setup_logging
from edge_node.config import BrokerAddress, Config, ConfigError, redact_url
from edge_node.datadir import DataDirBusy, lock_data_dir
from edge_node.mqtt import topics
from edge_node.mqtt.broker import BrokerStartError, EmbeddedBroker
from edge_node.mqtt.link import LinkError, MqttProtocol
from edge_node.watchdog import SystemdNotifier
from edge_node.wiring import build

log = logging.getLogger("edge_node")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The config flags."""
    add_config_arguments(parser)


def main(args: argparse.Namespace) -> int:
    """Wire the parts and run until SIGTERM/SIGINT."""
    config = config_from_args(args)
    setup_logging(config.log_level)
    _claim_data_dir(config)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    embedded: EmbeddedBroker | None = None
    dashboard_url = config.dashboard_url
    address = config.mqtt.address()
    protocol: MqttProtocol = config.mqtt.protocol
    if address is None:
        embedded = EmbeddedBroker(config.broker)
        try:
            addresses = embedded.start()
        except BrokerStartError as exc:
            log.error("%s", exc)
            return 1
        address = BrokerAddress(addresses.client_host, addresses.mqtt_port, tls=False)
        protocol = "3.1.1"  # amqtt 0.12 refuses MQTT 5
        dashboard_url = dashboard_url or addresses.dashboard_url
        _print_addresses(config, addresses.mqtt_url, addresses.ws_url, addresses.dashboard_url)
    try:
        parts = build(
            config, address, protocol=protocol, dashboard_url=dashboard_url, notifier=SystemdNotifier()
        )
    except LinkError as exc:
        raise ConfigError(str(exc)) from exc
    parts.link.start()
    log.info(
        "node %s: source %s, broker %s", config.node_id, redact_url(config.camera.source), address.redacted()
    )
    try:
        parts.node.run(stop)
    finally:
        started = time.monotonic()
        parts.close()
        if embedded is not None:
            embedded.stop(timeout=1.0)
        log.info("stopped in %.1f s", time.monotonic() - started)
    return 0


def _claim_data_dir(config: Config) -> None:
    """Create the data dir and hold its lock for the life of the process; raise ConfigError."""
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"data_dir = '{config.data_dir}': cannot create it ({exc.strerror})") from exc
    try:
        lock_data_dir(config.data_dir)  # held until the process ends
    except DataDirBusy as exc:
        raise ConfigError(
            f"data_dir = '{config.data_dir}': {exc}; give each node its own --data-dir"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"data_dir = '{config.data_dir}': cannot lock it ({exc.strerror})") from exc


def _print_addresses(config: Config, mqtt_url: str, ws_url: str, dashboard: str | None) -> None:
    host, _, port = mqtt_url.removeprefix("mqtt://").rpartition(":")
    lines = [
        f"DeskPulse Edge {__version__}: node '{config.node_id}' on the embedded broker",
        f"  MQTT        {mqtt_url}",
        f"  WebSockets  {ws_url}",
        f"  Dashboard   {dashboard or '(dashboard/ folder not found)'}",
        f"  Watch it:   mosquitto_sub -h {host} -p {port} -v -t '{topics.all_nodes()}' "
        f"-T '{topics.all_nodes('frame')}'",
    ]
    print("\n".join(lines), flush=True)
