#!/usr/bin/env bash
# Install if needed, then run the node: scripts/run.sh [deskpulse-edge options], e.g. --source 0
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/deskpulse-edge "$@"
