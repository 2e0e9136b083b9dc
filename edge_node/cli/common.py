"""What every subcommand shares: the config flags, building the layered config, logging, exit codes."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, Final

from edge_node.config import Config, build_config

EXIT_CONFIG: Final = 2

# (flag dest, config path) for the flags shared by every command that needs a config.
CONFIG_FLAGS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("source", ("camera", "source")),
    ("loop", ("camera", "loop")),
    ("max_fps", ("camera", "max_fps")),
    ("rotation", ("camera", "rotation")),
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


def flag_name(dest: str) -> str:
    """`max_fps` → `--max-fps`."""
    return "--" + dest.replace("_", "-")


def config_flag_names() -> dict[tuple[str, ...], str]:
    """Config path → the flag that sets it (for the reference table)."""
    return {path: flag_name(dest) for dest, path in CONFIG_FLAGS}


class Parser(argparse.ArgumentParser):
    """An argument parser that exits with EXIT_CONFIG (2) and the usage on a bad flag."""

    def error(self, message: str) -> Any:
        """Print the usage and the problem, exit 2."""
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
    g.add_argument(
        "--rotation", help="turn the picture clockwise: 0, 90, 180 or 270 (camera mounted sideways)"
    )
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
            flags[path] = (flag_name(dest), value)
    return build_config(file_path=getattr(args, "config", None), flags=flags)


def setup_logging(level: str) -> None:
    """Log lines to stderr at `level` (debug, info, warning, error)."""
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def tool_logging(config: Config) -> None:
    """A command-line tool logs warnings and up unless the config asks for more detail."""
    setup_logging(config.log_level if config.log_level != "info" else "warning")
