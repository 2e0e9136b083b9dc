#!/usr/bin/env bash
# Install if needed, then run the benchmarks: scripts/bench.sh [--quick | --full] [options]
# --quick (default) takes about seven minutes; --full about 55 (a 30-minute soak).
# Tables go to the terminal, JSON to bench/results/. `scripts/bench.sh --help` lists the options.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test >&2
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || {
  echo "the benchmarks need mosquitto (apt-get install mosquitto)" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "the benchmarks need Node.js (apt-get install nodejs npm)" >&2; exit 1; }
exec .venv/bin/python -m bench "$@"
