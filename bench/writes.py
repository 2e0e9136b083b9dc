"""(f) Writes: what the node and the broker write to storage per day at steady state, at the defaults.

The real daemon runs at its defaults on a photo (a person at the desk) against the repository's
mosquitto.conf (persistence on), for a few minutes after a 90 s warm-up (past the node's first SQLite
commit; a window of an hour also holds one of the hourly ones). Measured and extrapolated to 24 h:

- the node's own writes: `write_bytes` of /proc/<pid>/io (bytes it caused to be written to the block
  device: the statistics database and its WAL, settings; an SD card sees these), and `wchar` (every
  byte it passed to write(), page cache included). Its log goes to a pipe, as under systemd (journald
  writes it), so neither counts the log;
- the log: bytes the node printed at the default level (`info`), counted at the pipe;
- mosquitto's persistence: one save (SIGUSR1, as the autosave does) is measured in `write_bytes` of
  mosquitto's /proc/<pid>/io and in the size of mosquitto.db, then multiplied by the saves a day the
  config asks for (`autosave_interval`). Timed saves happen whether or not anything changed.

/proc/<pid>/io counts when a page of the page cache is dirtied, and kernels with large folios (ext4
since Linux 6.x) count the whole folio, so the same writes count differently from machine to machine
(tmpfs and some overlay set-ups count nothing at all). When the bench runs as root it therefore also
puts the data dir and mosquitto's persistence on their own small ext4 file systems on loop devices
and counts the bytes that reached each device: the data blocks and the file system's journal, what an
SD card would be asked to write.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import cv2

from bench.common import ROOT, Photo, wait_for
from tests.secure_broker import SecureBroker

log = logging.getLogger(__name__)

NODE_ID = "desk1"
DAY_S = 86_400.0
MB = 1_000_000
LOOP_FS_MB = 64
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


def device_bytes(device: str | None) -> int | None:
    """Bytes written to a block device so far (/sys/block/<dev>/stat), or None without a device."""
    if device is None:
        return None
    return int(Path(f"/sys/block/{device}/stat").read_text().split()[6]) * 512


@contextmanager
def loop_ext4(image: Path, mount_point: Path) -> Iterator[str | None]:
    """A fresh ext4 on a loop device mounted at `mount_point`; yields the device (None when not root)."""
    mount_point.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("losetup") is None:
        yield None
        return
    subprocess.run(["truncate", "-s", f"{LOOP_FS_MB}M", str(image)], check=True)
    device = subprocess.run(
        ["losetup", "-f", "--show", str(image)], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        # Inode tables and journal zeroed now, so no background initialisation counts as our writes.
        mkfs = ["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", device]
        subprocess.run(mkfs, check=True)
        subprocess.run(["mount", device, str(mount_point)], check=True)
        try:
            yield Path(device).name
        finally:
            subprocess.run(["umount", str(mount_point)], check=False)
    finally:
        subprocess.run(["losetup", "-d", device], check=False)
        image.unlink(missing_ok=True)


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


def _one_save(broker: SecureBroker, db: Path, device: str | None) -> dict[str, Any]:
    """Ask mosquitto to save now (SIGUSR1) and measure what that one save wrote (synced to the device)."""
    assert broker.process is not None
    pid = broker.process.pid
    log_size = broker.log_path.stat().st_size
    os.sync()
    before, device_before = proc_io(pid), device_bytes(device)
    mtime = db.stat().st_mtime_ns if db.exists() else 0
    os.kill(pid, signal.SIGUSR1)
    wait_for(lambda: db.exists() and db.stat().st_mtime_ns != mtime, 20, "mosquitto's save")
    time.sleep(0.5)
    os.sync()
    after, device_after = proc_io(pid), device_bytes(device)
    log_growth = broker.log_path.stat().st_size - log_size
    return {
        "db_bytes": db.stat().st_size,
        "write_bytes": after["write_bytes"] - before["write_bytes"],
        "wchar": after["wchar"] - before["wchar"] - log_growth,
        "device_bytes": (
            device_after - device_before if device_after is not None and device_before is not None else None
        ),
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


def run(workdir: Path, photos: list[Photo], minutes: float, warmup_s: float = 90.0) -> dict[str, Any]:
    """Measure `minutes` of steady state after `warmup_s`; bytes a day for the node, its log, mosquitto."""
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)  # mosquitto, started as root, reads its files as user "mosquitto"
    person = next(p for p in photos if p.person)
    photo = workdir / "desk.png"
    cv2.imwrite(str(photo), person.image)
    data_dir = workdir / "data"
    broker = SecureBroker(workdir / "broker", nodes=(NODE_ID,))
    broker.prepare()
    persistence = _persistence_file(broker)
    with (
        loop_ext4(workdir / "data.img", data_dir) as node_device,
        loop_ext4(workdir / "broker.img", persistence.parent) as broker_device,
    ):
        if broker_device is not None:
            shutil.chown(persistence.parent, "mosquitto")
            persistence.parent.chmod(0o700)
        broker.start()
        try:
            measured = _measure(
                broker,
                photo,
                data_dir,
                minutes=minutes,
                warmup_s=warmup_s,
                devices=(node_device, broker_device),
            )
        finally:
            broker.stop()
        measured["file_system"] = file_system(data_dir)
        files = {p.name: p.stat().st_size for p in sorted(data_dir.iterdir()) if p.is_file()}
    conf = broker.conf_path.read_text()
    shutil.rmtree(broker.workdir, ignore_errors=True)
    return _summarise(measured, files, _autosave_interval(conf))


def _measure(
    broker: SecureBroker,
    photo: Path,
    data_dir: Path,
    *,
    minutes: float,
    warmup_s: float,
    devices: tuple[str | None, str | None],
) -> dict[str, Any]:
    """Start the node, wait out the warm-up, take the counters over the window, then one broker save."""
    node = _start_node(broker, photo, data_dir)
    assert node.stdout is not None and broker.process is not None
    output = PipeLog(node.stdout)
    try:
        wait_for((data_dir / "stats.sqlite3").exists, 120, "the node's stats database")
        log.info("writes: warm-up %.0f s, then %.1f min measured", warmup_s, minutes)
        time.sleep(warmup_s)
        before = _counters(node.pid, broker, output, devices)
        t0 = time.monotonic()
        time.sleep(minutes * 60)
        elapsed = time.monotonic() - t0
        after = _counters(node.pid, broker, output, devices)
        lines = output.since(before["log_lines"])
        if node.poll() is not None:
            raise RuntimeError(f"the node exited: {output.since(0)[-10:]}")
        save = _one_save(broker, _persistence_file(broker), devices[1])
    finally:
        node.send_signal(signal.SIGTERM)
        try:
            node.wait(15)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait(10)
    delta = {key: (after[key] - before[key]) if after[key] is not None else None for key in after}
    return {"elapsed_s": elapsed, "delta": delta, "save": save, "log_tail": lines[-20:]}


def _counters(
    pid: int, broker: SecureBroker, output: PipeLog, devices: tuple[str | None, str | None]
) -> dict[str, int | None]:
    assert broker.process is not None
    node_io, broker_io = proc_io(pid), proc_io(broker.process.pid)
    log_bytes, log_lines = output.counts()
    return {
        "write_bytes": node_io["write_bytes"],
        "wchar": node_io["wchar"],
        "syscw": node_io["syscw"],
        "node_device": device_bytes(devices[0]),
        "broker_write_bytes": broker_io["write_bytes"],
        "broker_device": device_bytes(devices[1]),
        "broker_log": broker.log_path.stat().st_size,
        "log_bytes": log_bytes,
        "log_lines": log_lines,
    }


def _summarise(measured: dict[str, Any], files: dict[str, int], autosave_s: float) -> dict[str, Any]:
    elapsed, delta, save = measured["elapsed_s"], measured["delta"], measured["save"]
    saves_per_day = DAY_S / autosave_s
    node_mb = _per_day(delta["write_bytes"], elapsed)
    device = delta["node_device"]
    device_mb = _per_day(device, elapsed) if device is not None else None
    log_mb = _per_day(delta["log_bytes"], elapsed)
    worst = max(node_mb, device_mb or 0.0)
    save_device = save["device_bytes"]
    return {
        "minutes": round(elapsed / 60, 2),
        "file_system": measured["file_system"],
        "node": {
            "write_bytes": delta["write_bytes"],
            "wchar": delta["wchar"],
            "syscw": delta["syscw"],
            "device_bytes": device,
            "write_mb_per_day": node_mb,
            "wchar_mb_per_day": _per_day(delta["wchar"], elapsed),
            "device_mb_per_day": device_mb,
            "data_dir_files": files,
        },
        "log": {
            "bytes": delta["log_bytes"],
            "lines": delta["log_lines"],
            "mb_per_day": log_mb,
            "lines_in_window": measured["log_tail"],
        },
        "mosquitto": {
            "autosave_interval_s": autosave_s,
            "saves_per_day": round(saves_per_day, 1),
            "db_bytes": save["db_bytes"],
            "save_write_bytes": save["write_bytes"],
            "save_device_bytes": save_device,
            "mb_per_day": round(save["write_bytes"] * saves_per_day / MB, 3),
            "device_mb_per_day": round(save_device * saves_per_day / MB, 3) if save_device else None,
            "window_write_bytes": delta["broker_write_bytes"],
            "window_device_bytes": delta["broker_device"],
            "window_log_bytes": delta["broker_log"],
        },
        "budget": (
            f"node writes <= {NODE_BUDGET_MB_PER_DAY:g} MB/day (write_bytes and, as root, the device), "
            f"log <= {LOG_BUDGET_MB_PER_DAY:g} MB/day at steady state"
        ),
        "met": worst <= NODE_BUDGET_MB_PER_DAY and log_mb <= LOG_BUDGET_MB_PER_DAY,
    }
