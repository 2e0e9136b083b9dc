"""Entry point for `python -m edge_node`."""

from edge_node.cli import main

raise SystemExit(main())
