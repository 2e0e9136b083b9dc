"""(e) Soak: the real daemon at its defaults for hours, its broker restarted and its camera pulled meanwhile.

The daemon (adaptive pace, frames on, Home Assistant discovery on) watches one person who changes
posture every minute (good ↔ bad, the shared photos; scikit-image's astronaut and an empty desk
without them). The camera is an image-folder source behind a symlink, played at camera.max_fps: to
interrupt it the symlink is renamed away for a few seconds, so the capture thread's next read fails
(`read_failed`), its reopen finds nothing (`not_found`) and it retries with its backoff until the
folder is back, as with a USB camera pulled and plugged in again. The broker is a real mosquitto with
persistence on (the repository's mosquitto.conf storage settings), stopped with SIGTERM (it saves
its retained messages) and started again on the same port.

Sampled every `interval_s`: RSS, USS, CPU, threads, open file descriptors and bytes written
(/proc/<pid>/io write_bytes). After each broker restart and camera interruption: whether every
retained topic came back (a fresh subscriber's retained set before and after), and how long until
`state` was current again (see `_broker_current` and `_camera_current`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.common import wait_for
from bench.scenes import Cast, write_frame_folder
from tests.support import Daemon, Mosquitto, Received, Watcher

log = logging.getLogger(__name__)

RSS_BUDGET_MB = 300.0
GROWTH_BUDGET_PCT = 10.0
CURRENT_TARGET_S = 5.0
MAX_FPS = 10.0  # camera.max_fps, the default: the image folder plays at this rate
EXPIRING = frozenset({"frame", "pose"})  # retained with an MQTT 5 expiry: present only while fresh
SNAPSHOT_S = 2.5  # how long a fresh subscriber collects retained messages
SETTLE_S = 10.0  # after a recovery, before the retained set is compared


def _slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) in MB per hour."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var * 3600


def _broker(workdir: Path) -> Mosquitto:
    """mosquitto on loopback with persistence on: retained messages survive a restart."""
    broker = Mosquitto(workdir)
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o777)  # mosquitto drops root to its own user, which must write the database
    broker.config_text = (
        "per_listener_settings false\n"
        "allow_anonymous true\n"
        "persistence true\n"
        f"persistence_location {data}/\n"
        "autosave_interval 300\n"
        "set_tcp_nodelay true\n"
        "log_dest stdout\n"
        "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
        f"listener {broker.port} 127.0.0.1\n"
    )
    return broker


def retained_topics(port: int, seconds: float = SNAPSHOT_S) -> dict[str, int]:
    """What a new subscriber of `#` gets as retained: topic → payload bytes."""
    watcher = Watcher(port, ("#",)).wait_connected()
    try:
        time.sleep(seconds)
        return {m.topic: len(m.payload) for m in watcher.messages if m.retain and m.payload}
    finally:
        watcher.close()


def _compare(before: dict[str, int], after: dict[str, int]) -> dict[str, Any]:
    def durable(topics: dict[str, int]) -> set[str]:
        return {t for t in topics if t.rsplit("/", 1)[-1] not in EXPIRING}

    missing = sorted(durable(before) - durable(after))
    return {
        "retained_before": len(before),
        "retained_after": len(after),
        "missing": missing,
        "new": sorted(durable(after) - durable(before)),
        "expiring_before": sorted(set(before) - durable(before)),
        "expiring_after": sorted(set(after) - durable(after)),
        "all_back": not missing,
    }


def _states(watcher: Watcher, topic: str, since: float) -> list[tuple[Received, dict[str, Any]]]:
    return [(m, m.json()) for m in watcher.on(topic) if m.at >= since and m.payload]


def _broker_current(watcher: Watcher, topic: str, back: float, timeout: float = 60.0) -> float | None:
    """Seconds from the broker listening again until a subscriber held the node's latest state.

    The subscriber was connected through the restart (it reconnects every 0.25 s). After the restart
    it gets the state mosquitto restored from its database, then the node's own re-send when the node
    has reconnected. The node's latest state is the highest `seq` among those published before the
    broker was back (state.ts < back); the state is current from the first message with that seq or
    a later one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = _states(watcher, topic, back)
        before = [p["seq"] for _, p in states if p["ts"] < back]
        later = [p for _, p in states if p["ts"] >= back]
        if before or later:
            latest = max(before) if before else min(p["seq"] for p in later)
            for message, payload in states:
                if payload["seq"] >= latest:
                    return round(message.at - back, 2)
        time.sleep(0.2)
    return None


def _camera_current(
    watcher: Watcher, topic: str, restored: float, timeout: float = 90.0
) -> tuple[float | None, str | None]:
    """Seconds from the camera folder being back until a state judged from a frame taken after that
    (frame_ts >= restored) gave a posture again (good, bad or away), and that posture."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message, payload in _states(watcher, topic, restored):
            if (payload.get("frame_ts") or 0) >= restored and payload["posture"] in ("good", "bad", "away"):
                return round(message.at - restored, 2), payload["posture"]
        time.sleep(0.2)
    return None, None


def _first_after(watcher: Watcher, topic: str, since: float, key: str, value: str) -> float | None:
    for message in watcher.on(topic):
        if message.at >= since and message.payload and message.json().get(key) == value:
            return round(message.at - since, 2)
    return None


@dataclass
class Disruptor:
    """Restarts the broker and pulls the camera on schedule, in its own thread, and records each."""

    broker: Mosquitto
    camera: Path
    watcher: Watcher
    node_id: str
    started: float
    camera_down_s: float
    events: list[dict[str, Any]]

    @property
    def _state_topic(self) -> str:
        return f"deskpulse/{self.node_id}/state"

    def restart_broker(self) -> dict[str, Any]:
        before = retained_topics(self.broker.port)
        down = time.time()
        self.broker.stop()
        self.broker.start()  # returns once it listens
        back = time.time()
        current = _broker_current(self.watcher, self._state_topic, back)
        time.sleep(SETTLE_S)
        return {
            "kind": "broker restart",
            "at_min": round((down - self.started) / 60, 1),
            "down_s": round(back - down, 2),
            "state_current_s": current,
            **_compare(before, retained_topics(self.broker.port)),
        }

    def interrupt_camera(self) -> dict[str, Any]:
        before = retained_topics(self.broker.port)
        away = self.camera.with_name(self.camera.name + ".away")
        gone = time.time()
        os.rename(self.camera, away)
        time.sleep(self.camera_down_s)
        os.rename(away, self.camera)
        restored = time.time()
        camera_topic = f"deskpulse/{self.node_id}/camera"
        current, posture = _camera_current(self.watcher, self._state_topic, restored)
        time.sleep(SETTLE_S)
        return {
            "kind": "camera interrupted",
            "at_min": round((gone - self.started) / 60, 1),
            "down_s": round(restored - gone, 2),
            "noticed_s": _first_after(self.watcher, camera_topic, gone, "state", "disconnected"),
            "camera_back_s": _first_after(self.watcher, camera_topic, restored, "state", "connected"),
            "state_current_s": current,
            "posture": posture,
            **_compare(before, retained_topics(self.broker.port)),
        }

    def run(self, schedule: list[tuple[float, str]], stop: threading.Event) -> None:
        for at, kind in schedule:
            if stop.wait(max(0.0, self.started + at - time.time())):
                return
            try:
                event = self.restart_broker() if kind == "broker" else self.interrupt_camera()
            except Exception as exc:  # keep soaking; the report shows it
                log.exception("soak: %s failed", kind)
                event = {"kind": kind, "error": f"{type(exc).__name__}: {exc}"}
            log.info("soak: %s", event)
            self.events.append(event)


def schedule(minutes: float, broker_every_min: float, camera_every_min: float) -> list[tuple[float, str]]:
    """(seconds from the start, "broker" | "camera"): broker restarts every `broker_every_min` from then,
    camera interruptions every `camera_every_min` from half that (so the two never coincide); none in
    the last minute (each needs time to recover and be compared)."""
    end = minutes * 60 - min(60.0, minutes * 60 / 4)
    events: list[tuple[float, str]] = []
    for every, offset, kind in ((broker_every_min, 1.0, "broker"), (camera_every_min, 0.5, "camera")):
        if every <= 0:
            continue
        at = every * 60 * offset
        while at <= end:
            events.append((at, kind))
            at += every * 60
    return sorted(events)


def _sample(process: psutil.Process, started: float, last: tuple[float, float]) -> dict[str, float]:
    now, cpu = time.monotonic(), process.cpu_times()
    used = cpu.user + cpu.system
    memory = process.memory_full_info()
    return {
        "t_s": round(now - started, 1),
        "rss_mb": round(memory.rss / 1_048_576, 1),
        # Unique to the process: RSS also counts shared library pages that happen to be
        # resident (OpenCV, MediaPipe, OpenBLAS), which vary with the page cache.
        "uss_mb": round(memory.uss / 1_048_576, 1),
        "cpu_pct": round(100 * (used - last[1]) / max(now - last[0], 1e-6), 1),
        "cpu_s": round(used, 2),
        "threads": process.num_threads(),
        "fds": process.num_fds(),
        "write_mb": round(process.io_counters().write_bytes / 1_048_576, 3),
    }


def run(
    workdir: Path,
    cast: Cast,
    minutes: float,
    interval_s: float,
    *,
    broker_every_min: float = 10.0,
    camera_every_min: float = 15.0,
    camera_down_s: float = 5.0,
) -> dict[str, Any]:
    """Sample every `interval_s` for `minutes` while the broker restarts and the camera drops out."""
    seconds = 60.0
    other = (cast.bad, "bad") if cast.bad is not None else (cast.empty, "empty")
    segments = [(cast.good, seconds, "good"), (other[0], seconds, other[1])]
    frames = workdir / "frames"
    write_frame_folder(frames, segments, cast.size, fps=MAX_FPS)
    camera = workdir / "camera"
    camera.symlink_to(frames, target_is_directory=True)
    broker = _broker(workdir / "mosquitto").start()
    node_id = "bench-soak"
    args = ["--broker", broker.url, "--source", str(camera), "--loop", "--node-id", node_id]
    args += ["--data-dir", str(workdir / "data")]
    daemon = Daemon(args, workdir / "daemon").start()
    watcher = Watcher(broker.port, (f"deskpulse/{node_id}/#",))
    watcher.client.reconnect_delay_set(0.25, 0.25)  # type: ignore[arg-type]  # paho takes floats
    watcher.wait_connected()
    samples: list[dict[str, float]] = []
    events: list[dict[str, Any]] = []
    stop = threading.Event()
    thread: threading.Thread | None = None
    try:
        wait_for(lambda: watcher.on(f"deskpulse/{node_id}/frame"), 120, "the soak node's first frame")
        assert daemon.process is not None
        process = psutil.Process(daemon.process.pid)
        started_wall, started = time.time(), time.monotonic()
        plan = schedule(minutes, broker_every_min, camera_every_min)
        disruptor = Disruptor(broker, camera, watcher, node_id, started_wall, camera_down_s, events)
        thread = threading.Thread(target=disruptor.run, args=(plan, stop), name="soak-events", daemon=True)
        thread.start()
        cpu0 = process.cpu_times()
        last = (started, cpu0.user + cpu0.system)
        deadline = started + minutes * 60
        log.info("soak: %.1f min, a sample every %.0f s, %d disruptions", minutes, interval_s, len(plan))
        while time.monotonic() < deadline:
            time.sleep(min(interval_s, max(0.0, deadline - time.monotonic())))
            if not daemon.alive():
                raise RuntimeError(f"the daemon died during the soak: {daemon.log()[-2000:]}")
            sample = _sample(process, started, last)
            samples.append(sample)
            last = (time.monotonic(), sample["cpu_s"])
        stop.set()
        thread.join(120)
        stats = watcher.on(f"deskpulse/{node_id}/stats")
        last_stats = stats[-1].json() if stats else {}
    finally:
        stop.set()
        watcher.close()
        daemon.stop()
        broker.stop()
    return _summarise(minutes, samples, events, last_stats, camera_down_s)


def _summarise(
    minutes: float,
    samples: list[dict[str, float]],
    events: list[dict[str, Any]],
    last_stats: dict[str, Any],
    camera_down_s: float,
) -> dict[str, Any]:
    warm = [s for s in samples if s["t_s"] >= min(60.0, minutes * 6)]  # skip the first minute (or tenth)
    tenth = max(1, len(warm) // 10)

    def mean(key: str, part: list[dict[str, Any]]) -> float:
        return sum(s[key] for s in part) / len(part) if part else 0.0

    first, last = mean("rss_mb", warm[:tenth]), mean("rss_mb", warm[-tenth:])
    growth = 100 * (last - first) / first if first else 0.0
    peak = max((s["rss_mb"] for s in samples), default=0.0)
    cpu = [s["cpu_pct"] for s in warm]
    uss_first, uss_last = mean("uss_mb", warm[:tenth]), mean("uss_mb", warm[-tenth:])
    start, end = (warm[0], warm[-1]) if warm else ({}, {})
    hours = (end.get("t_s", 0) - start.get("t_s", 0)) / 3600
    currents = [e["state_current_s"] for e in events if e.get("state_current_s") is not None]
    return {
        "minutes": minutes,
        "camera_down_s": camera_down_s,
        "samples": samples,
        "events": events,
        "rss_first_mb": round(first, 1),
        "rss_last_mb": round(last, 1),
        "rss_peak_mb": peak,
        "rss_growth_pct": round(growth, 2),
        "uss_first_mb": round(uss_first, 1),
        "uss_last_mb": round(uss_last, 1),
        "uss_growth_pct": round(100 * (uss_last - uss_first) / uss_first, 2) if uss_first else 0.0,
        "rss_slope_mb_per_h": round(_slope_per_hour([(s["t_s"], s["rss_mb"]) for s in warm]), 2),
        "uss_slope_mb_per_h": round(_slope_per_hour([(s["t_s"], s["uss_mb"]) for s in warm]), 2),
        "cpu_mean_pct": round(sum(cpu) / len(cpu), 1) if cpu else None,
        "start": {k: start.get(k) for k in ("t_s", "rss_mb", "threads", "fds", "write_mb")},
        "end": {k: end.get(k) for k in ("t_s", "rss_mb", "threads", "fds", "write_mb")},
        "write_mb_per_h": round((end.get("write_mb", 0) - start.get("write_mb", 0)) / hours, 2)
        if hours > 0
        else None,
        "threads_max": max((s["threads"] for s in samples), default=None),
        "fds_max": max((s["fds"] for s in samples), default=None),
        "threads_last": samples[-1]["threads"] if samples else None,
        "node_stats": {
            k: last_stats.get(k)
            for k in (
                "pipeline_fps",
                "inference_fps",
                "inference_ms",
                "dropped_frames",
                "processed_frames",
                "inferred_frames",
                "pace",
                "cpu_cores",
            )
        },
        "all_retained_back": all(e.get("all_back") for e in events) if events else None,
        "state_current_max_s": max(currents) if currents else None,
        "budget": f"RSS <= {RSS_BUDGET_MB:.0f} MB, growth <= {GROWTH_BUDGET_PCT:.0f} % over the soak; "
        f"after every disruption all retained topics back and state current <= {CURRENT_TARGET_S:g} s",
        "met": peak <= RSS_BUDGET_MB and growth <= GROWTH_BUDGET_PCT,
        "recovery_met": bool(events)
        and all(e.get("all_back") for e in events)
        and len(currents) == len(events)
        and max(currents) <= CURRENT_TARGET_S,
    }
