#!/usr/bin/env bash
# Install DeskPulse Edge into ./.venv (and the dashboard's MQTT.js into dashboard/node_modules; with --test
# also the dashboard's ESLint and TypeScript).
# Idempotent and quick when nothing changed. Usage: scripts/install.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--test" ] && extras="[test]"

pick_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.12 python3.11 python3.10 python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; raise SystemExit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "DeskPulse Edge needs Python 3.10, 3.11 or 3.12 (mediapipe 0.10.18 has wheels for those); set PYTHON=" >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  py="$(pick_python)"
  echo "creating .venv with $("$py" --version)"
  "$py" -m venv .venv
fi

# Reinstall only when the dependency declarations changed.
stamp=".venv/.deskpulse-installed${extras:+-test}"
want="$(cat pyproject.toml packaging/opencv-contrib-python/pyproject.toml | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing Python packages (first time: a few minutes, mediapipe is large)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  # The opencv-contrib-python stand-in goes in the same run as mediapipe, so the only cv2 is the
  # headless build (see packaging/opencv-contrib-python/pyproject.toml).
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    ./packaging/opencv-contrib-python -e ".${extras}"
  .venv/bin/python -m pip check
  echo "$want" > "$stamp"
fi

# The dashboard's npm packages: MQTT.js for everyone; with --test also its dev tools (ESLint, TypeScript),
# which tests/test_dashboard_lint.py runs. Reinstalled only when the lock file changed or something is missing.
npm_stale=""
[ -f dashboard/node_modules/mqtt/dist/mqtt.min.js ] || npm_stale="MQTT.js is missing"
for declared in dashboard/package.json dashboard/package-lock.json; do
  [ "$declared" -nt dashboard/node_modules/.package-lock.json ] && npm_stale="$declared changed"
done
if [ -n "$extras" ]; then
  for tool in eslint tsc; do
    [ -x "dashboard/node_modules/.bin/$tool" ] || npm_stale="the dashboard's $tool is missing"
  done
fi
if [ -n "$npm_stale" ]; then
  command -v npm >/dev/null 2>&1 || { echo "npm is needed for the dashboard's MQTT.js (apt-get install npm)" >&2; exit 1; }
  if [ -n "$extras" ]; then
    echo "installing the dashboard's MQTT.js, ESLint and TypeScript from npm ($npm_stale)"
    (cd dashboard && npm ci --no-audit --no-fund --silent)
  else
    echo "installing the dashboard's MQTT.js from npm ($npm_stale)"
    (cd dashboard && npm ci --omit=dev --no-audit --no-fund --silent)
  fi
fi
