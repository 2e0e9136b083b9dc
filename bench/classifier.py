"""Classifier cost per frame: `.venv/bin/python bench/classifier.py [--calls N]`.

Real landmarks come from MediaPipe (the bundled full model) on real photos: the shared posture
photos beside the project when present, and scikit-image's astronaut. Each detected pose is copied
with small landmark jitter (as a live camera would give), and `classify` plus the steadier's
`update` are timed one call at a time. Prints µs per frame (p50/p95/p99) and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from edge_node.posture.geometry import Baseline, Reading, classify
from edge_node.posture.steadiness import Steadier, SteadyConfig
from edge_node.vision.landmarks import Point, Pose
from edge_node.vocabulary import Sensitivity

ROOT = Path(__file__).resolve().parent.parent
SHARED_POSTURE = ROOT.parent / "shared" / "data" / "posture"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
JITTER = 0.003  # landmark noise, in picture heights (MediaPipe's frame-to-frame wobble)
WARMUP_CALLS = 2_000


def real_poses() -> tuple[list[Pose], list[float]]:
    """Poses MediaPipe finds on the available photos, and its inference time on each (ms)."""
    import cv2
    from skimage import data

    from edge_node.vision.pose import PoseEstimator

    images = [cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)]
    if SHARED_POSTURE.is_dir():
        for path in sorted((SHARED_POSTURE / "images").rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                image = cv2.imread(str(path))
                if image is not None:
                    images.append(image)
    estimator = PoseEstimator(static_images=True)
    poses, inference_ms = [], []
    try:
        for image in images:
            detection = estimator.detect(image)
            inference_ms.append(detection.inference_ms)
            if detection.pose is not None:
                poses.append(detection.pose)
    finally:
        estimator.close()
    return poses, inference_ms


def jittered(pose: Pose, rng: random.Random) -> Pose:
    """The same person a frame later: every landmark moved a little."""
    points = tuple(
        Point(
            p.x + rng.gauss(0, JITTER),
            p.y + rng.gauss(0, JITTER),
            p.z + rng.gauss(0, JITTER * 3),
            min(1.0, max(0.0, p.visibility + rng.gauss(0, 0.02))),
        )
        for p in pose.points
    )
    return Pose(points=points, width=pose.width, height=pose.height)


def time_calls(frames: list[Pose], calls: int, call: Callable[[Pose], object]) -> list[float]:
    """Microseconds per call, one call at a time, after a warm-up."""
    for index in range(WARMUP_CALLS):
        call(frames[index % len(frames)])
    costs = []
    clock = time.perf_counter_ns
    for index in range(calls):
        pose = frames[index % len(frames)]
        started = clock()
        call(pose)
        costs.append((clock() - started) / 1000)
    return costs


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def stats(values: list[float]) -> dict[str, float]:
    return {
        "mean": round(statistics.fmean(values), 2),
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "p99": round(percentile(values, 99), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/classifier.py", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000, help="timed calls per case (default 50000)")
    parser.add_argument("--frames", type=int, default=2_000, help="distinct jittered frames (default 2000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    poses, inference_ms = real_poses()
    if not poses:
        print("MediaPipe found nobody in the photos; nothing to time")
        return 1
    rng = random.Random(args.seed)
    frames = [jittered(poses[i % len(poses)], rng) for i in range(args.frames)]
    views = [classify(p).view for p in poses]
    side = Baseline(view="side", measures={"neck_deg": 15.0, "torso_deg": -10.0})
    front = Baseline(view="front", measures={"head_height_ratio": 0.55, "face_width_ratio": 0.4})
    sensitivity: Sensitivity = "medium"

    def calibrated(pose: Pose) -> Reading:
        reading = classify(pose, sensitivity=sensitivity, baseline=side)
        return classify(pose, sensitivity=sensitivity, baseline=front) if reading.view == "front" else reading

    steady = Steadier(SteadyConfig(), 0.0)
    clock = [0.0]

    def with_steadier(pose: Pose) -> bool:
        clock[0] += 0.1  # 10 fps
        return steady.update(classify(pose, sensitivity=sensitivity), clock[0])

    cases: dict[str, Callable[[Pose], object]] = {
        "classify": lambda pose: classify(pose, sensitivity=sensitivity),
        "classify (calibrated)": calibrated,
        "classify + steadier": with_steadier,
    }
    results = {name: stats(time_calls(frames, args.calls, call)) for name, call in cases.items()}

    print(
        f"classifier cost per frame: {len(poses)} real poses ({views.count('side')} side, "
        f"{views.count('front')} front) x {args.frames} jittered frames, {args.calls} timed calls each"
    )
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    print(f"{'case':<24} {'mean µs':>9} {'p50 µs':>9} {'p95 µs':>9} {'p99 µs':>9}")
    for name, row in results.items():
        print(f"{name:<24} {row['mean']:>9} {row['p50']:>9} {row['p95']:>9} {row['p99']:>9}")
    mediapipe = {"p50": round(statistics.median(inference_ms), 1), "max": round(max(inference_ms), 1)}
    print(
        f"for scale, MediaPipe pose on the same photos: p50 {mediapipe['p50']} ms, max {mediapipe['max']} ms"
    )
    print(json.dumps({"classifier_us": results, "poses": len(poses), "mediapipe_ms": mediapipe}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
