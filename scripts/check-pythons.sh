#!/usr/bin/env bash
# Prove every Python the README promises, as a new user would use it. For each VERSION (default 3.10
# and 3.12, the supported ones besides the main 3.11), in a fresh copy of this checkout:
#   PYTHON=python3.X scripts/install.sh, deskpulse-edge --version, deskpulse-edge evaluate on the
#   photos (every file's verdict and the JSON summary must equal this checkout's .venv), and the node
#   on a photo with its embedded broker until it publishes a retained good/bad state, then SIGTERM,
#   which must stop it with exit status 0.
# A VERSION of 3.13 or later checks instead that the installer refuses it quickly, says what to
# install, exits non-zero and creates no .venv; 3.13 is always checked.
# One result line per version, ending in PASS or FAIL; exits 1 if any failed. A missing interpreter
# fails. Needs this checkout's .venv with the test extra (scripts/install.sh --test).
# Usage: scripts/check-pythons.sh [--photos DIR] [VERSION ...]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root="$(pwd)"
# shellcheck source=scripts/check-common.sh
. scripts/check-common.sh

photos_dir=""
if [ "${1:-}" = "--photos" ]; then
  photos_dir="$2"
  shift 2
fi
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.10 3.12)
case " ${versions[*]} " in *" 3.13 "*) ;; *) versions=(3.13 "${versions[@]}") ;; esac

if [ ! -x .venv/bin/deskpulse-edge ]; then
  echo "check-pythons: this checkout has no .venv to compare with: run scripts/install.sh --test first — FAIL"
  exit 1
fi
workdir="$(mktemp -d "${TMPDIR:-/tmp}/deskpulse-pythons.XXXXXX")"
node_pid=""
cleanup() {
  if [ -n "$node_pid" ]; then kill -KILL "$node_pid" 2>/dev/null; fi
  rm -rf "$workdir"
}
trap cleanup EXIT

find_photos "$root" "$workdir" "$photos_dir"
main_version="$(.venv/bin/python -c 'import platform; print(platform.python_version())')"
.venv/bin/deskpulse-edge evaluate "$PHOTOS" >"$workdir/reference.txt" 2>"$workdir/reference.err" || {
  tail -n 20 "$workdir/reference.err"
  echo "check-pythons: evaluate failed in this checkout's .venv (Python $main_version) — FAIL"
  exit 1
}
reference_json="$(summary_json "$workdir/reference.txt")"
verdict_columns "$workdir/reference.txt" >"$workdir/reference.verdicts"
# The node's photo: the first one the reference judges good or bad, as labelled.
node_photo="$(awk -F '  +' '($2 == "good" || $2 == "bad") && $2 == $3 { print $1; exit }' "$workdir/reference.txt")"
node_expected="$(awk -F '  +' '($2 == "good" || $2 == "bad") && $2 == $3 { print $2; exit }' "$workdir/reference.txt")"
echo "check-pythons: reference is Python $main_version (.venv) on $PHOTOS_WHAT: $reference_json"
echo "check-pythons: the node runs on $node_photo (judged $node_expected)"

# A retained state with a verdict: connect a fresh client every second (so what it gets is the
# retained message) until the posture is good or bad. Args: port node-id node-pid timeout.
WAIT_FOR_VERDICT='
import json, sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

port, node, pid, timeout = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
topic = f"deskpulse/{node}/state"
deadline = time.monotonic() + timeout
last = "nothing"
while time.monotonic() < deadline:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] in "ZX":
                sys.exit(f"the node exited before publishing a verdict (last state: {last})")
    except FileNotFoundError:
        sys.exit(f"the node exited before publishing a verdict (last state: {last})")
    got = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"check-{node}-{time.monotonic_ns()}")
    client.on_connect = lambda c, userdata, flags, rc, props: c.subscribe(topic, 1)
    client.on_message = lambda c, userdata, message: got.append(message)
    try:
        client.connect("127.0.0.1", port, 10)
    except OSError:
        time.sleep(1)
        continue
    client.loop_start()
    until = time.monotonic() + 2
    while not got and time.monotonic() < until:
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()
    for message in got:
        posture = json.loads(message.payload).get("posture")
        last = f"{posture} (retained)" if message.retain else f"{posture} (not retained)"
        if message.retain and posture in ("good", "bad"):
            print(posture)
            sys.exit(0)
    time.sleep(1)
sys.exit(f"no retained good or bad state on {topic} within {timeout:.0f} s (last: {last})")
'

# process_state PID: the state letter in /proc/PID/stat (Z for a zombie), empty when it is gone.
process_state() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  stat="${stat##*) }"
  echo "${stat%% *}"
}

FREE_PORTS='
import socket
sockets = [socket.socket() for _ in range(3)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))
'

# check_refusal VERSION: the installer refuses python3.X quickly, with what to install, and makes no .venv.
check_refusal() {
  local version="$1" name="python$1" dir="$workdir/refuse-$1" started elapsed rc full
  if ! command -v "$name" >/dev/null 2>&1; then
    echo "python $version: FAIL — no $name on PATH, so the installer's refusal of it cannot be checked"
    return 1
  fi
  copy_checkout "$root" "$dir"
  started=$(date +%s.%N)
  (cd "$dir" && PYTHON="$name" scripts/install.sh) >"$dir.log" 2>&1
  rc=$?
  elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  full="$(sed -nE 's/.* is Python ([0-9.]+),.*/\1/p' "$dir.log" | head -n 1)"
  if [ "$rc" -ne 0 ] && grep -q "install Python 3.12, 3.11 or 3.10" "$dir.log" && [ ! -e "$dir/.venv" ] &&
    awk -v e="$elapsed" 'BEGIN { exit !(e < 30) }'; then
    echo "python ${full:-$version}: installer refused it in $elapsed s (exit $rc, no .venv): \"$(head -n 1 "$dir.log")\" — PASS"
    return 0
  fi
  sed 's/^/    /' "$dir.log" | tail -n 20
  echo "python ${full:-$version}: FAIL — the installer did not refuse $name as expected (exit $rc in $elapsed s; .venv $([ -e "$dir/.venv" ] && echo made || echo not made))"
  return 1
}

# check_version VERSION: install, --version, evaluate and the node in a fresh copy.
check_version() {
  local version="$1" name="python$1" dir="$workdir/py$1" log="$workdir/py$1.log" done_="" full
  if ! command -v "$name" >/dev/null 2>&1; then
    echo "python $version: FAIL — no $name on PATH (install Python $version, e.g. pyenv install $version)"
    return 1
  fi
  copy_checkout "$root" "$dir"
  fail() {
    echo "    --- $log (last 30 lines)"
    tail -n 30 "$log" | sed 's/^/    /'
    echo "python ${full:-$version}: ${done_}FAIL — $1"
  }

  if ! (cd "$dir" && PYTHON="$name" scripts/install.sh) >"$log" 2>&1; then
    fail "PYTHON=$name scripts/install.sh failed: $(grep -v '^WARNING' "$log" | tail -n 1)"
    return 1
  fi
  full="$("$dir/.venv/bin/python" -c 'import platform; print(platform.python_version())')"
  case "$full" in "$version".*) ;; *)
    fail "the install made a .venv with Python $full, not $version"
    return 1
    ;;
  esac
  done_="install ok, "

  local want got module
  want="$(.venv/bin/deskpulse-edge --version 2>&1)"
  got="$("$dir/.venv/bin/deskpulse-edge" --version 2>>"$log")"
  module="$(cd "$workdir" && "$dir/.venv/bin/python" -m edge_node --version 2>>"$log")"
  if [ "$got" != "$want" ] || [ "$module" != "$want" ]; then
    fail "--version printed '$got' and python -m edge_node --version '$module', not '$want'"
    return 1
  fi
  done_="${done_}--version ok, "

  if ! "$dir/.venv/bin/deskpulse-edge" evaluate "$PHOTOS" >"$workdir/py$version.eval" 2>>"$log"; then
    fail "deskpulse-edge evaluate failed"
    return 1
  fi
  local json
  json="$(summary_json "$workdir/py$version.eval")"
  verdict_columns "$workdir/py$version.eval" >"$workdir/py$version.verdicts"
  if [ "$json" != "$reference_json" ] || ! cmp -s "$workdir/reference.verdicts" "$workdir/py$version.verdicts"; then
    {
      echo "--- evaluate verdicts and summary: $main_version (.venv) against $full"
      diff <(cat "$workdir/reference.verdicts"; echo "$reference_json") <(cat "$workdir/py$version.verdicts"; echo "$json")
    } >>"$log"
    fail "evaluate differs from $main_version's"
    return 1
  fi
  done_="${done_}evaluate same as $main_version ($(short_json "$json")), "

  local mqtt ws http node="py${version//./}" posture started rc elapsed
  read -r mqtt ws http < <("$dir/.venv/bin/python" -c "$FREE_PORTS")
  "$dir/.venv/bin/deskpulse-edge" --source "$PHOTOS/$node_photo" --loop --node-id "$node" \
    --data-dir "$workdir/data-$node" --mqtt-port "$mqtt" --ws-port "$ws" --http-port "$http" >>"$log" 2>&1 &
  node_pid=$!
  if ! posture="$("$dir/.venv/bin/python" -c "$WAIT_FOR_VERDICT" "$mqtt" "$node" "$node_pid" 90 2>>"$log")"; then
    kill -KILL "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null
    node_pid=""
    fail "the node published no good or bad state: $(tail -n 1 "$log")"
    return 1
  fi
  if [ "$posture" != "$node_expected" ]; then
    kill -KILL "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null
    node_pid=""
    fail "the node published $posture on $node_photo, evaluate said $node_expected"
    return 1
  fi
  done_="${done_}node published $posture, "
  started=$(date +%s.%N)
  kill -TERM "$node_pid"
  local state=""
  for _ in $(seq 300); do
    state="$(process_state "$node_pid")"
    [ -z "$state" ] || [ "$state" = Z ] && break
    sleep 0.1
  done
  if [ -n "$state" ] && [ "$state" != Z ]; then
    kill -KILL "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null
    node_pid=""
    fail "the node did not stop within 30 s of SIGTERM"
    return 1
  fi
  wait "$node_pid"
  rc=$?
  node_pid=""
  elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ "$rc" -ne 0 ]; then
    fail "the node exited with status $rc on SIGTERM"
    return 1
  fi
  # The README promises a stop within 3 s; a slower one is shown, and fails only after 30 s.
  if awk -v e="$elapsed" 'BEGIN { exit !(e > 3) }'; then elapsed="$elapsed s, over the README's 3"; fi
  echo "python $full: install ok, --version ok, evaluate same as $main_version ($(short_json "$json")), node published $posture, stopped on SIGTERM in $elapsed s (exit 0) — PASS"
}

failed=0
for version in "${versions[@]}"; do
  case "$version" in
    3.1[3-9] | 3.[2-9]?) check_refusal "$version" || failed=1 ;;
    *) check_version "$version" || failed=1 ;;
  esac
done
exit "$failed"
