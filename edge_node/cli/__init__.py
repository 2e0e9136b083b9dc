"""The command line: `deskpulse-edge [run] …` and its subcommands, one module each."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from edge_node import __version__
from edge_node.cli import calibrate, clip, config_cmd, evaluate, forget, run, schema, stats
from edge_node.cli.common import EXIT_CONFIG, Parser
from edge_node.config import ConfigError

# Each subcommand module has add_arguments(parser) and main(args) -> int; its docstring is its help.
SUBCOMMANDS: dict[str, ModuleType] = {
    "run": run,
    "config": config_cmd,
    "calibrate": calibrate,
    "evaluate": evaluate,
    "clip": clip,
    "stats": stats,
    "forget": forget,
    "schema": schema,
}


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand."""
    parser = Parser(
        prog="deskpulse-edge",
        description="DeskPulse Edge: posture monitor MQTT edge node. Without a command it runs the node.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    for name, module in SUBCOMMANDS.items():
        summary = module.__doc__.strip().splitlines()[0] if module.__doc__ else None
        command = sub.add_parser(name, help=summary)
        module.add_arguments(command)
        command.set_defaults(handler=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the subcommand (`run` when none is named)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    known = {*SUBCOMMANDS, "-h", "--help", "--version"}
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
