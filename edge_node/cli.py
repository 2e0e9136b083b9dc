"""Command line and wiring: the one place that builds the parts and passes them in."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from edge_node import __version__
from edge_node.config import BrokerAddress, Config, ConfigError, build_config, redact_url

log = logging.getLogger("edge_node")

EXIT_CONFIG = 2

# Subcommands implemented in their own modules: each has add_arguments(parser) and main(args) -> int.
SUBCOMMAND_MODULES: dict[str, str] = {
    "calibrate": "edge_node.calibrate_cli",
    "evaluate": "edge_node.evaluate",
    "stats": "edge_node.stats_cli",
    "forget": "edge_node.forget",
}

# (flag dest, config path) for the flags shared by every command that needs a config.
CONFIG_FLAGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("source", ("camera", "source")),
    ("loop", ("camera", "loop")),
    ("max_fps", ("camera", "max_fps")),
    ("broker", ("mqtt", "broker")),
    ("ca_file", ("mqtt", "ca_file")),
    ("cert_file", ("mqtt", "cert_file")),
    ("key_file", ("mqtt", "key_file")),
    ("node_id", ("node_id",)),
    ("name", ("name",)),
    ("data_dir", ("data_dir",)),
    ("frames", ("frames", "enabled")),
    ("listen", ("broker", "listen")),
    ("mqtt_port", ("broker", "mqtt_port")),
    ("ws_port", ("broker", "ws_port")),
    ("http_port", ("broker", "http_port")),
    ("sensitivity", ("posture", "sensitivity")),
    ("log_level", ("log_level",)),
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(EXIT_CONFIG, f"{self.prog}: error: {message}\n")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that override config values (defaults < --config file < DESKPULSE_* < flags)."""
    g = parser.add_argument_group("configuration (see README: Configuration)")
    g.add_argument("--config", type=Path, help="TOML config file (also DESKPULSE_CONFIG)")
    g.add_argument(
        "--source", help="camera index, /dev/videoN, video/image file, image folder, rtsp/http URL"
    )
    g.add_argument(
        "--loop", action=argparse.BooleanOptionalAction, default=None, help="replay a file forever"
    )
    g.add_argument("--max-fps", help="most frames per second processed (default 10)")
    g.add_argument("--broker", help="mqtt://[user:pass@]host:port or mqtts://…; omit for the embedded broker")
    g.add_argument("--ca-file", help="CA bundle for mqtts://")
    g.add_argument("--cert-file", help="client certificate for mqtts://")
    g.add_argument("--key-file", help="client key for mqtts://")
    g.add_argument("--node-id", help="topic level [a-z0-9_-]+ (default: host name)")
    g.add_argument("--name", help="display name (default: DeskPulse <node id>)")
    g.add_argument("--data-dir", help="settings, calibration and statistics")
    g.add_argument(
        "--frames", action=argparse.BooleanOptionalAction, default=None, help="publish JPEG frames"
    )
    g.add_argument("--listen", help="embedded broker address (default 127.0.0.1; 0.0.0.0 = LAN)")
    g.add_argument("--mqtt-port", help="embedded broker MQTT port (default 1883)")
    g.add_argument("--ws-port", help="embedded broker WebSockets port (default 9001)")
    g.add_argument("--http-port", help="embedded dashboard HTTP port (default 8080)")
    g.add_argument("--sensitivity", help="low, medium or high")
    g.add_argument("--log-level", help="debug, info, warning or error")


def config_from_args(args: argparse.Namespace) -> Config:
    """Build the layered config from parsed flags; raise ConfigError."""
    flags: dict[tuple[str, ...], tuple[str, Any]] = {}
    for dest, path in CONFIG_FLAGS:
        value = getattr(args, dest, None)
        if value is not None:
            flags[path] = ("--" + dest.replace("_", "-"), value)
    return build_config(file_path=getattr(args, "config", None), flags=flags)


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="deskpulse-edge",
        description="DeskPulse Edge: posture monitor MQTT edge node. Without a command it runs the node.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    run = sub.add_parser("run", help="run the node (the default)")
    add_config_arguments(run)
    run.set_defaults(handler=run_node)
    show = sub.add_parser("config", help="check the config and print it (secrets hidden)")
    add_config_arguments(show)
    show.add_argument("--reference", action="store_true", help="print the table of every setting (markdown)")
    show.set_defaults(handler=show_config)
    for name, module_name in SUBCOMMAND_MODULES.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(
            name, help=module.__doc__.strip().splitlines()[0] if module.__doc__ else None
        )
        module.add_arguments(command)
        command.set_defaults(handler=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    known = {"run", "config", *SUBCOMMAND_MODULES, "-h", "--help", "--version"}
    if not argv or argv[0] not in known:
        argv.insert(0, "run")
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            print(f"deskpulse-edge: {line}", file=sys.stderr)
        return EXIT_CONFIG


def show_config(args: argparse.Namespace) -> int:
    """Validate the layered config and print it, or print the reference table."""
    import json

    from edge_node.config import reference_markdown

    if args.reference:
        print(reference_markdown({path: "--" + dest.replace("_", "-") for dest, path in CONFIG_FLAGS}))
        return 0
    print(json.dumps(config_from_args(args).redacted(), indent=2))
    return 0


# --------------------------------------------------------------------------- run


def run_node(args: argparse.Namespace) -> int:
    """Wire the parts and run until SIGTERM/SIGINT."""
    config = config_from_args(args)
    setup_logging(config.log_level)
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"data_dir = '{config.data_dir}': cannot create it ({exc.strerror})") from exc
    from edge_node.store import DataDirBusy, lock_data_dir

    try:
        lock_data_dir(config.data_dir)  # held until the process ends
    except DataDirBusy as exc:
        raise ConfigError(
            f"data_dir = '{config.data_dir}': {exc}; give each node its own --data-dir"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"data_dir = '{config.data_dir}': cannot lock it ({exc.strerror})") from exc

    from edge_node.broker import BrokerStartError, EmbeddedBroker
    from edge_node.capture import Capture, LatestSlot
    from edge_node.mqtt_link import LinkError, MqttLink, TlsOptions
    from edge_node.node import Node
    from edge_node.pose import PoseEstimator
    from edge_node.store import JsonStore
    from edge_node.topics import NodeTopics
    from edge_node.tracker import Tracker
    from edge_node.watchdog import SystemdNotifier

    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    embedded: EmbeddedBroker | None = None
    dashboard_url = config.dashboard_url
    address = config.mqtt.address()
    protocol = config.mqtt.protocol
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

    topics = NodeTopics(config.node_id)
    node: Node | None = None

    def on_command(topic: str, payload: bytes, retained: bool) -> None:
        if node is not None:
            node.on_message(topic, payload, retained)

    def on_connected() -> None:
        if node is not None:
            node.on_connected()

    tls = TlsOptions.from_config(config.mqtt)
    try:
        link = MqttLink(
            address,
            client_id=config.mqtt.client_id or f"deskpulse-{config.node_id}",
            availability_topic=topics.availability,
            on_command=on_command,
            on_connected=on_connected,
            keepalive=config.mqtt.keepalive,
            protocol=protocol,
            tls=tls,
            reconnect_max_s=config.mqtt.reconnect_max_s,
            announce_first=lambda topic: topic.startswith(config.homeassistant.discovery_prefix + "/"),
        )
    except LinkError as exc:
        raise ConfigError(str(exc)) from exc

    log.info("loading the pose model")
    estimator = PoseEstimator(
        model_complexity=config.posture.model_complexity, static_images=not config.posture.tracking
    )
    slot = LatestSlot()
    capture = Capture(config.camera, slot)
    tracker = Tracker(
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
        notifier=SystemdNotifier(),
        dashboard_url=dashboard_url,
    )
    link.set_subscriptions(node.subscriptions())
    link.start()
    log.info(
        "node %s: source %s, broker %s", config.node_id, redact_url(config.camera.source), address.redacted()
    )
    try:
        node.run(stop)
    finally:
        started = time.monotonic()
        node.shutdown()
        link.stop(timeout=1.5)
        estimator.close()
        if embedded is not None:
            embedded.stop(timeout=1.0)
        log.info("stopped in %.1f s", time.monotonic() - started)
    return 0


def _print_addresses(config: Config, mqtt_url: str, ws_url: str, dashboard: str | None) -> None:
    host, _, port = mqtt_url.removeprefix("mqtt://").rpartition(":")
    lines = [
        f"DeskPulse Edge {__version__}: node '{config.node_id}' on the embedded broker",
        f"  MQTT        {mqtt_url}",
        f"  WebSockets  {ws_url}",
        f"  Dashboard   {dashboard or '(dashboard/ folder not found)'}",
        f"  Watch it:   mosquitto_sub -h {host} -p {port} -v -t 'deskpulse/#' -T 'deskpulse/+/frame'",
    ]
    print("\n".join(lines), flush=True)
