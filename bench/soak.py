"""(e) Soak: the real daemon at its defaults for a configurable time; RSS and CPU sampled, growth reported."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import psutil

from bench.common import wait_for
from tests.support import Daemon, Mosquitto, Watcher

log = logging.getLogger(__name__)

RSS_BUDGET_MB = 300.0
GROWTH_BUDGET_PCT = 10.0


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


def run(workdir: Path, video: Path, minutes: float, interval_s: float) -> dict[str, Any]:
    """RSS/CPU every `interval_s` for `minutes`; growth = last tenth against the first tenth after warm-up."""
    broker = Mosquitto(workdir / "mosquitto").start()
    node_id = "bench-soak"
    args = ["--broker", broker.url, "--source", str(video), "--loop", "--node-id", node_id]
    args += ["--data-dir", str(workdir / "data")]
    daemon = Daemon(args, workdir / "daemon").start()
    watcher = Watcher(broker.port, (f"deskpulse/{node_id}/#",)).wait_connected()
    samples: list[dict[str, float]] = []
    try:
        wait_for(lambda: watcher.on(f"deskpulse/{node_id}/frame"), 120, "the soak node's first frame")
        assert daemon.process is not None
        process = psutil.Process(daemon.process.pid)
        started = time.monotonic()
        last_cpu = process.cpu_times()
        last_t = started
        deadline = started + minutes * 60
        log.info("soak: %.1f min, a sample every %.0f s", minutes, interval_s)
        while time.monotonic() < deadline:
            time.sleep(min(interval_s, max(0.0, deadline - time.monotonic())))
            if not daemon.alive():
                raise RuntimeError(f"the daemon died during the soak: {daemon.log()[-2000:]}")
            now, cpu = time.monotonic(), process.cpu_times()
            used = (cpu.user + cpu.system) - (last_cpu.user + last_cpu.system)
            memory = process.memory_full_info()
            samples.append(
                {
                    "t_s": round(now - started, 1),
                    "rss_mb": round(memory.rss / 1_048_576, 1),
                    # Unique to the process: RSS also counts shared library pages that happen to be
                    # resident (OpenCV, MediaPipe, OpenBLAS), which vary with the page cache.
                    "uss_mb": round(memory.uss / 1_048_576, 1),
                    "cpu_pct": round(100 * used / max(now - last_t, 1e-6), 1),
                    "threads": process.num_threads(),
                }
            )
            last_cpu, last_t = cpu, now
        stats = watcher.on(f"deskpulse/{node_id}/stats")
        last_stats = stats[-1].json() if stats else {}
    finally:
        watcher.close()
        daemon.stop()
        broker.stop()
    warm = [s for s in samples if s["t_s"] >= min(60.0, minutes * 6)]  # skip the first minute (or tenth)
    tenth = max(1, len(warm) // 10)

    def mean(key: str, part: list[dict[str, Any]]) -> float:
        return sum(s[key] for s in part) / len(part) if part else 0.0

    first, last = mean("rss_mb", warm[:tenth]), mean("rss_mb", warm[-tenth:])
    growth = 100 * (last - first) / first if first else 0.0
    peak = max((s["rss_mb"] for s in samples), default=0.0)
    cpu = [s["cpu_pct"] for s in warm]
    uss_first, uss_last = mean("uss_mb", warm[:tenth]), mean("uss_mb", warm[-tenth:])
    return {
        "minutes": minutes,
        "samples": samples,
        "rss_first_mb": round(first, 1),
        "rss_last_mb": round(last, 1),
        "rss_peak_mb": peak,
        "rss_growth_pct": round(growth, 2),
        "uss_first_mb": round(uss_first, 1),
        "uss_last_mb": round(uss_last, 1),
        "uss_growth_pct": round(100 * (uss_last - uss_first) / uss_first, 2) if uss_first else 0.0,
        "rss_slope_mb_per_h": round(_slope_per_hour([(s["t_s"], s["rss_mb"]) for s in warm]), 2),
        "cpu_mean_pct": round(sum(cpu) / len(cpu), 1) if cpu else None,
        "threads_last": samples[-1]["threads"] if samples else None,
        "node_stats": {
            k: last_stats.get(k)
            for k in ("pipeline_fps", "inference_ms", "dropped_frames", "processed_frames")
        },
        "budget": f"RSS <= {RSS_BUDGET_MB:.0f} MB, growth <= {GROWTH_BUDGET_PCT:.0f} % over the soak",
        "met": peak <= RSS_BUDGET_MB and growth <= GROWTH_BUDGET_PCT,
    }
