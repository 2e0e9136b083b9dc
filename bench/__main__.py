"""Run the benchmarks, print tables and write JSON: `python -m bench [--quick | --full] [options]`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import report
from bench.common import ROOT, load_photos, machine, scratch

log = logging.getLogger("bench")

SECTIONS = ("pipeline", "latency", "fanout", "frames", "cpu", "pi", "soak", "writes")
# The soak restarts the broker and interrupts the camera this often (minutes); the quick profile's
# one-minute soak does each once or twice instead.
DISRUPT_EVERY_MIN = {"soak_broker_every": 10.0, "soak_camera_every": 15.0}
PROFILES: dict[str, dict[str, Any]] = {
    "quick": {
        "seconds": 3.0,
        "latency_s": 6.0,
        "fanout": "10,100",
        "fanout_s": 4.0,
        "cpu_min": 1.0,
        "change_s": 20.0,
        "pi_min": 1.5,
        "soak_min": 1.0,
        "soak_broker_every": 0.5,
        "soak_camera_every": 0.6,
        "writes_min": 2.0,
    },
    "full": {
        "seconds": 20.0,
        "latency_s": 30.0,
        "fanout": "0,10,100,1000",
        "fanout_s": 20.0,
        "cpu_min": 10.0,
        "change_s": 60.0,
        "pi_min": 10.0,
        "soak_min": 30.0,
        "soak_broker_every": 10.0,
        "soak_camera_every": 15.0,
        "writes_min": 10.0,
    },
}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick",
        dest="profile",
        action="store_const",
        const="quick",
        help="about seven minutes (the default)",
    )
    mode.add_argument(
        "--full",
        dest="profile",
        action="store_const",
        const="full",
        help="the docs/benchmarks.md figures, about 55 minutes",
    )
    parser.set_defaults(profile="quick")
    parser.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--seconds", type=float, help="pipeline: seconds per run")
    parser.add_argument("--latency-seconds", type=float, help="latency: seconds per broker")
    parser.add_argument("--fanout", help="fan-out: comma-separated subscriber counts, e.g. 10,100,1000")
    parser.add_argument("--fanout-seconds", type=float, help="fan-out: measuring window per count")
    parser.add_argument(
        "--cpu-minutes", type=float, help="cpu: window per scene (fixed and adaptive run side by side)"
    )
    parser.add_argument("--change-seconds", type=float, help="cpu, pi: the posture changes this often")
    parser.add_argument("--pi-class", action="store_true", help="also run the pi section (with --only cpu)")
    parser.add_argument("--pi-minutes", type=float, help="pi: measuring window under the Pi-class CPU limit")
    parser.add_argument("--soak-minutes", type=float, help="soak: how long (120 for the docs figure)")
    parser.add_argument("--soak-interval", type=float, default=None, help="soak: seconds between samples")
    parser.add_argument("--writes-minutes", type=float, help="writes: minutes measured after the warm-up")
    parser.add_argument(
        "--soak-broker-every", type=float, help="soak: restart the broker every this many minutes (0: never)"
    )
    parser.add_argument(
        "--soak-camera-every", type=float, help="soak: interrupt the camera every this many minutes (0: no)"
    )
    parser.add_argument(
        "--soak-camera-down", type=float, default=5.0, help="soak: seconds the camera is gone each time"
    )
    parser.add_argument("--no-shared", action="store_true", help="only the photos scikit-image ships")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="where the JSON goes")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for noisy in ("edge_node", "paho"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    profile = PROFILES[args.profile]
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    if args.pi_class:
        only.add("pi")
    unknown = only - set(SECTIONS)
    if unknown:
        print(
            f"unknown section(s) {', '.join(sorted(unknown))}; pick from {', '.join(SECTIONS)}",
            file=sys.stderr,
        )
        return 2
    seconds = args.seconds or profile["seconds"]
    counts = [int(n) for n in (args.fanout or profile["fanout"]).split(",")]
    soak_min = args.soak_minutes if args.soak_minutes is not None else profile["soak_min"]
    soak_interval = args.soak_interval or (5.0 if soak_min >= 5 else 1.0)
    writes_min = args.writes_minutes or profile["writes_min"]
    change_s = args.change_seconds or profile["change_s"]

    def option(name: str) -> float:
        """A soak disruption interval: given, or the profile's for its own soak length, else 10 / 15 min."""
        value = getattr(args, name)
        if value is not None:
            return float(value)
        return float(profile[name] if args.soak_minutes is None else DISRUPT_EVERY_MIN[name])

    results: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "scripts/bench.sh " + shlex.join(argv) if argv else "scripts/bench.sh",
        "profile": args.profile,
        "machine": machine(),
        "load": {},
    }
    photos = load_photos(shared=not args.no_shared)
    results["photos"] = len(photos)
    started = time.monotonic()
    with scratch("deskpulse-bench-") as workdir:
        from bench import cpu, fanout, frames, latency, pi, pipeline, soak, writes
        from bench.scenes import cast
        from tests.support import Mosquitto

        video: Path | None = None
        if "frames" in only:
            video = frames.write_video(workdir / "desk.avi", photos)
        people = cast(shared=not args.no_shared)

        def section(name: str, run: Callable[[], dict[str, Any]]) -> None:
            if name not in only:
                return
            log.info("== %s", name)
            load_before = [round(v, 2) for v in os.getloadavg()]
            t0 = time.monotonic()
            try:
                results[name] = run()
            except Exception as exc:  # one broken section must not lose the others' numbers
                log.exception("%s failed", name)
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            results[name]["elapsed_s"] = round(time.monotonic() - t0, 1)
            results["load"][name] = {"before": load_before, "after": [round(v, 2) for v in os.getloadavg()]}
            _save(args.out, results)

        if {"pipeline", "latency"} & only:
            broker = Mosquitto(workdir / "mosquitto").start()
            try:
                section("pipeline", lambda: pipeline.run(workdir / "pipeline", broker.url, photos, seconds))
                section(
                    "latency",
                    lambda: latency.run(
                        workdir / "latency", broker.port, photos, args.latency_seconds or profile["latency_s"]
                    ),
                )
            finally:
                broker.stop()
        section(
            "fanout",
            lambda: fanout.run(
                workdir / "fanout", photos, counts, args.fanout_seconds or profile["fanout_s"]
            ),
        )
        if video is not None:
            section("frames", lambda: frames.run(workdir / "frames", photos, video, max(seconds, 10.0)))
        cpu_min, pi_min = args.cpu_minutes or profile["cpu_min"], args.pi_minutes or profile["pi_min"]
        section("cpu", lambda: cpu.run(workdir / "cpu", people, cpu_min, change_s))
        section("pi", lambda: pi.run(workdir / "pi", people, pi_min, change_s))
        section(
            "soak",
            lambda: soak.run(
                workdir / "soak",
                people,
                soak_min,
                soak_interval,
                broker_every_min=option("soak_broker_every"),
                camera_every_min=option("soak_camera_every"),
                camera_down_s=args.soak_camera_down,
            ),
        )
        section("writes", lambda: writes.run(workdir / "writes", photos, writes_min))
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    path = _save(args.out, results)
    print(report.render(results))
    print(f"\nJSON: {path}")
    return 0 if all(results.get(name, {}).get("error") is None for name in SECTIONS) else 1


def _save(folder: Path, results: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = results["date"].replace(":", "").replace("-", "").replace("+0000", "Z")
    path = folder / f"bench-{results['profile']}-{stamp}.json"
    text = json.dumps(results, indent=1)
    path.write_text(text)
    (folder / "latest.json").write_text(text)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
