"""Config: check the layered configuration and print it (secrets hidden), or the reference table."""

from __future__ import annotations

import argparse
import json

from edge_node.cli.common import add_config_arguments, config_flag_names, config_from_args
from edge_node.config import reference_markdown


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--reference` and the config flags."""
    add_config_arguments(parser)
    parser.add_argument(
        "--reference", action="store_true", help="print the table of every setting (markdown)"
    )


def main(args: argparse.Namespace) -> int:
    """Validate the layered config and print it, or print the reference table."""
    if args.reference:
        print(reference_markdown(config_flag_names()))
        return 0
    print(json.dumps(config_from_args(args).redacted(), indent=2))
    return 0
