#!/usr/bin/env bash
# Run a command on a "Pi-class" CPU: scripts/pi-class.sh CMD [ARGS...]
#
# MediaPipe 0.10.18's full pose model takes about 165 ms a frame on a Raspberry Pi 5, flat out; on a
# desktop or server core it takes 10-20 ms. This script makes it take about 165 ms here, so the node
# can be watched keeping its budgets on a Pi-class CPU, and then runs CMD under that limit:
#
#  - taskset pins CMD (and every thread and child of it) to one core, so MediaPipe's worker threads
#    cannot spread over the others: one core's worth of CPU, as the node gets from one Pi core;
#  - a cgroup v1 CPU quota lets that core run CMD for only QUOTA of every PERIOD microseconds
#    (cpu.cfs_quota_us / cpu.cfs_period_us). The period is 20 ms, not the kernel's default 100 ms, so
#    a 165 ms inference is throttled in small steps, as on a slow core, rather than running at full
#    speed and then stopping for most of 100 ms (which makes frame times jump by 100 ms steps).
#
# Calibration, on this machine, every time (nothing is cached; a quota from another machine or an
# hour ago under another load would be wrong): `python -m bench.pi calibrate` joins the cgroup,
# loads the model unthrottled, measures the CPU one bare inference (Pose.process on scikit-image's
# astronaut photo, 640x480, as the node configures it) needs, starts from quota = CPU / 165 ms, then
# times 15 inferences under the quota and scales the quota by measured / target until the median is
# within 5 % of the target (at most 8 rounds). It prints every round and the quota it chose. The
# machine's other load counts in: the quota is what this process gets, contention adds to it, so
# calibrate under the load you measure under.
#
# Environment: PI_CLASS_MS (target, default 165), PI_CLASS_CORE (default: the last core),
# PI_CLASS_PERIOD_US (default 20000), PI_CLASS_QUOTA_US (skip the calibration and use this quota,
# e.g. the one a calibration printed a minute ago), PYTHON (default .venv/bin/python).
# Needs root and a writable cgroup v1 cpu controller at /sys/fs/cgroup/cpu. The cgroup is removed
# on exit, whatever ends the script.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
TARGET_MS="${PI_CLASS_MS:-165}"
PERIOD_US="${PI_CLASS_PERIOD_US:-20000}"
CORE="${PI_CLASS_CORE:-$(($(nproc) - 1))}"
CPU_ROOT=/sys/fs/cgroup/cpu

if [ $# -eq 0 ]; then
  echo "usage: scripts/pi-class.sh CMD [ARGS...]   (runs CMD with bare MediaPipe at ~${TARGET_MS} ms a frame)" >&2
  exit 2
fi
if [ ! -w "$CPU_ROOT" ] || [ ! -e "$CPU_ROOT/cpu.cfs_quota_us" ]; then
  echo "pi-class: needs root and a cgroup v1 cpu controller at $CPU_ROOT" >&2
  exit 1
fi

GROUP="$CPU_ROOT/deskpulse-pi-$$"
CHILD=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM HUP
  if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM "$CHILD" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$CHILD" 2>/dev/null || true
  fi
  if [ -d "$GROUP" ]; then
    # Whatever is left in the group (a child's own children) moves back to the root group first.
    while read -r pid; do echo "$pid" >"$CPU_ROOT/cgroup.procs" 2>/dev/null || true; done <"$GROUP/cgroup.procs"
    rmdir "$GROUP" 2>/dev/null || echo "pi-class: could not remove $GROUP" >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

mkdir "$GROUP"
echo "$PERIOD_US" >"$GROUP/cpu.cfs_period_us"

if [ -n "${PI_CLASS_QUOTA_US:-}" ]; then
  QUOTA_US="$PI_CLASS_QUOTA_US"
  echo "pi-class: quota ${QUOTA_US} us per ${PERIOD_US} us on core ${CORE} (given, not calibrated)" >&2
else
  # The calibration prints its rounds on stderr and "QUOTA_US MEDIAN_MS" as its last stdout line.
  RESULT="$(cd "$ROOT" && taskset -c "$CORE" "$PYTHON" -m bench.pi calibrate \
    --cgroup "$GROUP" --target-ms "$TARGET_MS" | tail -n 1)"
  read -r QUOTA_US MEDIAN_MS <<<"$RESULT"
  echo "pi-class: calibrated: quota ${QUOTA_US} us per ${PERIOD_US} us" \
    "($(awk "BEGIN {printf \"%.1f\", 100 * $QUOTA_US / $PERIOD_US}") % of core ${CORE})," \
    "bare inference median ${MEDIAN_MS} ms (target ${TARGET_MS} ms)" >&2
fi
echo "$QUOTA_US" >"$GROUP/cpu.cfs_quota_us"

# The child joins the group before it becomes CMD (exec keeps the pid), so all of CMD runs limited.
sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec taskset -c "$@"' pi-class "$GROUP" "$CORE" "$@" &
CHILD=$!
set +e
wait "$CHILD"
STATUS=$?
set -e
CHILD=""
exit "$STATUS"
