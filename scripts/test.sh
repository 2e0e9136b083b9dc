#!/usr/bin/env bash
# Install the test dependencies if needed, check style and types, run the whole test suite.
# Extra arguments go to pytest, e.g. scripts/test.sh -k posture
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
