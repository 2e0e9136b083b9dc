"""(f) Writes: what the node and the broker write to storage per day at steady state, at the defaults.

The real daemon runs at its defaults on a photo (a person at the desk) against the repository's
mosquitto.conf (persistence on), for a few minutes after a warm-up. Measured and extrapolated to 24 h:

- the node's own writes: `write_bytes` of /proc/<pid>/io (bytes it caused to be written to the block
  device: the statistics database and its WAL, settings; an SD card sees these), and `wchar` (every
  byte it passed to write(), page cache included). Its log goes to a pipe, as under systemd (journald
  writes it), so neither counts the log;
- the log: bytes the node printed at the default level (`info`), counted at the pipe;
- mosquitto's persistence: one save (SIGUSR1, as the autosave does) is measured in `write_bytes` of
  mosquitto's /proc/<pid>/io and in the size of mosquitto.db, then multiplied by the saves a day the
  config asks for (`autosave_interval`). Timed saves happen whether or not anything changed.

/proc/<pid>/io counts a page when it is dirtied in the page cache of a block-backed file system; the
file system the data dir is on is part of the result (tmpfs and some overlay set-ups count nothing).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Any

import cv2

from bench.common import ROOT, Photo, wait_for
from tests.secure_broker import SecureBroker, secure_mosquitto

log = logging.getLogger(__name__)

NODE_ID = "desk1"
DAY_S = 86_400.0
MB = 1_000_000
NODE_BUDGET_MB_PER_DAY = 20.0
LOG_BUDGET_MB_PER_DAY = 1.0


def proc_io(pid: int) -> dict[str, int]:
    """The counters of /proc/<pid>/io (rchar, wchar, syscr, syscw, read_bytes, write_bytes, …)."""
    counters = {}
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        name, _, value = line.partition(":")
        counters[name.strip()] = int(value)
    return counters


def file_system(path: Path) -> str:
    """The type of the file system `path` is on (the longest mount point that holds it)."""
    best, kind = "", "unknown"
    resolved = str(path.resolve())
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        point = fields[1]
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


class PipeLog:
    """Reads a process's output from a pipe (as journald would), counting bytes and lines."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.bytes = 0
        self.lines = 0
        self.tail: deque[str] = deque(maxlen=50)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name="bench-log", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in iter(self._stream.readline, b""):
            with self._lock:
                self.bytes += len(line)
                self.lines += 1
                self.tail.append(line.decode(errors="replace").rstrip())

    def counts(self) -> tuple[int, int]:
        """(bytes, lines) so far."""
        with self._lock:
            return self.bytes, self.lines

    def since(self, lines: int) -> list[str]:
        """The lines kept after the first `lines` lines (at most the last 50)."""
        with self._lock:
            keep = min(self.lines - lines, len(self.tail))
            return list(self.tail)[len(self.tail) - keep :] if keep > 0 else []


def _autosave_interval(conf: str) -> float:
    match = re.search(r"^autosave_interval\s+(\d+)", conf, re.M)
    return float(match.group(1)) if match else 1800.0  # mosquitto's default


def _persistence_file(broker: SecureBroker) -> Path:
    conf = broker.conf_path.read_text()
    location = re.search(r"^persistence_location\s+(\S+)", conf, re.M)
    name = re.search(r"^persistence_file\s+(\S+)", conf, re.M)
    folder = broker.workdir / (location.group(1) if location else ".")
    return folder / (name.group(1) if name else "mosquitto.db")


def _one_save(broker: SecureBroker, db: Path) -> dict[str, Any]:
    """Ask mosquitto to save now (SIGUSR1) and measure what that one save wrote."""
    assert broker.process is not None
    pid = broker.process.pid
    log_size = broker.log_path.stat().st_size
    before = proc_io(pid)
    mtime = db.stat().st_mtime_ns if db.exists() else 0
    os.kill(pid, signal.SIGUSR1)
    wait_for(lambda: db.exists() and db.stat().st_mtime_ns != mtime, 20, "mosquitto's save")
    time.sleep(0.5)
    after = proc_io(pid)
    log_growth = broker.log_path.stat().st_size - log_size
    return {
        "db_bytes": db.stat().st_size,
        "write_bytes": after["write_bytes"] - before["write_bytes"],
        "wchar": after["wchar"] - before["wchar"] - log_growth,
    }


def _start_node(broker: SecureBroker, photo: Path, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKPULSE_")}
    env.update(broker.node_env(NODE_ID))
    env["PYTHONUNBUFFERED"] = "1"
    args = [*broker.node_args(NODE_ID), "--source", str(photo), "--loop", "--data-dir", str(data_dir)]
    return subprocess.Popen(
        [sys.executable, "-m", "edge_node", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )


def _per_day(value: float, seconds: float) -> float:
    return round(value / seconds * DAY_S / MB, 3)


def run(workdir: Path, photos: list[Photo], minutes: float, warmup_s: float = 30.0) -> dict[str, Any]:
    """Measure `minutes` of steady state after `warmup_s`; bytes a day for the node, its log, mosquitto."""
    workdir.mkdir(parents=True, exist_ok=True)
    person = next(p for p in photos if p.person)
    photo = workdir / "desk.png"
    cv2.imwrite(str(photo), person.image)
    data_dir = workdir / "data"
    with secure_mosquitto(nodes=(NODE_ID,)) as broker:
        db = _persistence_file(broker)
        node = _start_node(broker, photo, data_dir)
        assert node.stdout is not None
        output = PipeLog(node.stdout)
        try:
            wait_for((data_dir / "stats.sqlite3").exists, 120, "the node's stats database")
            log.info("writes: warm-up %.0f s, then %.1f min measured", warmup_s, minutes)
            time.sleep(warmup_s)
            if node.poll() is not None:
                raise RuntimeError(f"the node exited: {output.since(0)[-10:]}")
            assert broker.process is not None
            io0, broker0 = proc_io(node.pid), proc_io(broker.process.pid)
            log0, lines0 = output.counts()
            broker_log0 = broker.log_path.stat().st_size
            t0 = time.monotonic()
            time.sleep(minutes * 60)
            elapsed = time.monotonic() - t0
            io1, broker1 = proc_io(node.pid), proc_io(broker.process.pid)
            log1, lines1 = output.counts()
            broker_log1 = broker.log_path.stat().st_size
            window_lines = output.since(lines0)
            if node.poll() is not None:
                raise RuntimeError(f"the node exited: {output.since(0)[-10:]}")
            save = _one_save(broker, db)
        finally:
            node.send_signal(signal.SIGTERM)
            try:
                node.wait(15)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait(10)
        conf = broker.conf_path.read_text()
    autosave_s = _autosave_interval(conf)
    saves_per_day = DAY_S / autosave_s
    node_write = io1["write_bytes"] - io0["write_bytes"]
    node_wchar = io1["wchar"] - io0["wchar"]
    log_bytes = log1 - log0
    files = {p.name: p.stat().st_size for p in sorted(data_dir.iterdir()) if p.is_file()}
    node_mb = _per_day(node_write, elapsed)
    log_mb = _per_day(log_bytes, elapsed)
    return {
        "minutes": round(elapsed / 60, 2),
        "warmup_s": warmup_s,
        "file_system": file_system(data_dir),
        "node": {
            "write_bytes": node_write,
            "wchar": node_wchar,
            "syscw": io1["syscw"] - io0["syscw"],
            "cancelled_write_bytes": io1["cancelled_write_bytes"] - io0["cancelled_write_bytes"],
            "write_mb_per_day": node_mb,
            "wchar_mb_per_day": _per_day(node_wchar, elapsed),
            "data_dir_files": files,
        },
        "log": {
            "bytes": log_bytes,
            "lines": lines1 - lines0,
            "mb_per_day": log_mb,
            "lines_in_window": window_lines[-20:],
        },
        "mosquitto": {
            "autosave_interval_s": autosave_s,
            "saves_per_day": round(saves_per_day, 1),
            "db_bytes": save["db_bytes"],
            "save_write_bytes": save["write_bytes"],
            "save_wchar": save["wchar"],
            "mb_per_day": round(save["write_bytes"] * saves_per_day / MB, 3),
            "window_write_bytes": broker1["write_bytes"] - broker0["write_bytes"],
            "window_log_bytes": broker_log1 - broker_log0,
        },
        "budget": (
            f"node writes <= {NODE_BUDGET_MB_PER_DAY:g} MB/day, log <= {LOG_BUDGET_MB_PER_DAY:g} MB/day "
            "at steady state"
        ),
        "met": node_mb <= NODE_BUDGET_MB_PER_DAY and log_mb <= LOG_BUDGET_MB_PER_DAY,
    }
