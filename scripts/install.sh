#!/usr/bin/env bash
# Install DeskPulse Edge into ./.venv (and the dashboard's MQTT.js into dashboard/node_modules; with --test
# also the dashboard's ESLint and TypeScript).
# Idempotent and quick when nothing changed. Usage: [PYTHON=python3.X] scripts/install.sh [--test]
# Python: $PYTHON if set, else the newest of 3.10–3.12 on PATH; 3.13 and later are refused
# (mediapipe 0.10.18 has no wheels for them).
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--test" ] && extras="[test]"

SUPPORTED="3.10–3.12"
HOW_TO_GET_ONE="install Python 3.12, 3.11 or 3.10 (e.g. apt-get install python3.11, or pyenv install 3.12), then PYTHON=python3.12 scripts/install.sh"

# probe COMMAND: print "<major.minor.micro> <sys.executable>" if COMMAND runs a Python.
probe() {
  "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3], sys.executable)' 2>/dev/null
}

# resolve NAME: set py_version and py_path for NAME, or fail. An installed but inactive pyenv shim
# (e.g. python3.12 when pyenv's global version is 3.11) is resolved through `pyenv whence`.
resolve() {
  local name="$1" out="" version
  command -v "$name" >/dev/null 2>&1 || return 1
  out="$(probe "$name")" || out=""
  if [ -z "$out" ] && command -v pyenv >/dev/null 2>&1; then
    for version in $(pyenv whence "$name" 2>/dev/null); do
      out="$(PYENV_VERSION="$version" probe "$name")" && break
    done
  fi
  [ -n "$out" ] || return 1
  py_version="${out%% *}"
  py_path="${out#* }"
}

# supported VERSION: 3.10, 3.11 or 3.12.
supported() {
  case "$1" in 3.10.* | 3.11.* | 3.12.*) return 0 ;; *) return 1 ;; esac
}

# refuse WHAT VERSION: say why VERSION cannot be used and what to install instead, and exit.
refuse() {
  local why="amqtt needs 3.10 or later"
  case "$2" in 3.1[3-9].* | 3.[2-9]?.* | [4-9].*) why="mediapipe 0.10.18 has no wheels for 3.13 or later" ;; esac
  echo "$1 is Python $2, but DeskPulse Edge needs Python $SUPPORTED ($why): $HOW_TO_GET_ONE" >&2
  exit 1
}

# Choose the interpreter, and say which and why, before anything is created.
py_version="" py_path=""
if [ -n "${PYTHON:-}" ]; then
  command -v "$PYTHON" >/dev/null 2>&1 || { echo "PYTHON=$PYTHON: no such command: $HOW_TO_GET_ONE" >&2; exit 1; }
  resolve "$PYTHON" || { echo "PYTHON=$PYTHON does not run: $HOW_TO_GET_ONE" >&2; exit 1; }
  supported "$py_version" || refuse "PYTHON=$PYTHON" "$py_version"
fi

if [ -e .venv/bin/python ]; then
  venv_out="$(probe .venv/bin/python)" || {
    echo ".venv/bin/python does not run (was the Python it was made with removed?): remove .venv and run this again" >&2
    exit 1
  }
  venv_version="${venv_out%% *}"
  supported "$venv_version" || refuse ".venv" "$venv_version"
  if [ -n "${PYTHON:-}" ] && [ "${venv_version%.*}" != "${py_version%.*}" ]; then
    echo ".venv has Python $venv_version but PYTHON=$PYTHON is $py_version: remove .venv (rm -r .venv) and run this again" >&2
    exit 1
  fi
  echo "using .venv's Python $venv_version (made earlier; to choose again, remove .venv)"
else
  if [ -n "${PYTHON:-}" ]; then
    chosen="\$PYTHON=$PYTHON ($py_version)"
  else
    best_name="" found=""
    for candidate in python3.12 python3.11 python3.10 python3; do
      out="$(probe "$candidate")" || continue
      version="${out%% *}"
      found="${found:+$found, }$candidate $version"
      supported "$version" || continue
      if [ -z "$best_name" ] || [ "$(printf '%s\n%s\n' "$py_version" "$version" | sort -V | tail -1)" != "$py_version" ]; then
        best_name="$candidate" py_version="$version" py_path="${out#* }"
      fi
    done
    if [ -z "$best_name" ]; then
      echo "no Python $SUPPORTED runs on PATH (found: ${found:-none}), and DeskPulse Edge needs one (mediapipe 0.10.18 has no wheels for 3.13 or later): $HOW_TO_GET_ONE" >&2
      exit 1
    fi
    chosen="$best_name ($py_version): the newest of $SUPPORTED on PATH"
  fi
  echo "using $chosen"
  "$py_path" -m venv .venv
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
