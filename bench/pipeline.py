"""(a) Pipeline: processed fps against bare MediaPipe inference fps on the same frames, same run."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import cv2

import edge_node.node.engine as engine_module
import edge_node.node.publisher as publisher_module
from bench.common import ClipSource, InProcessNode, Photo, decode, make_clip, node_config, summary
from edge_node.vision.frames import Frame
from edge_node.vision.landmarks import Image
from edge_node.vision.pose import new_pose

log = logging.getLogger(__name__)

WARM_UP_S = 1.0
SLICE_S = 2.0  # bare and pipeline take turns in slices this long
MAX_SOURCE_FPS = 120.0  # camera.max_fps cannot go higher
T = TypeVar("T")


class BarePose:
    """MediaPipe alone (`Pose.process` on ready RGB frames, back to back), configured as the node's."""

    def __init__(self, frames: Sequence[Image], *, tracking: bool = False) -> None:
        self._rgb = [cv2.cvtColor(image, cv2.COLOR_BGR2RGB) for image in frames]
        for image in self._rgb:
            image.flags.writeable = False
        self._pose = new_pose(model_complexity=1, static_images=not tracking)
        self._index = 0
        self.ms: list[float] = []
        for _ in range(5):
            self._next()

    def _next(self) -> float:
        started = time.perf_counter()
        self._pose.process(self._rgb[self._index % len(self._rgb)])
        self._index += 1
        return (time.perf_counter() - started) * 1000

    def run(self, seconds: float) -> tuple[int, float]:
        """Frames processed and seconds taken."""
        count = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            self.ms.append(self._next())
            count += 1
        return count, time.perf_counter() - started

    def close(self) -> None:
        self._pose.close()


def interleaved(
    workdir: Path,
    broker_url: str,
    *,
    clip: Sequence[bytes],
    frames: Sequence[Image],
    camera_factor: float,
    seconds: float,
) -> dict[str, Any]:
    """Bare and pipeline slices taken in turn, so both see the same machine load.

    The pipeline is the real capture thread → LatestSlot → Node.run → MqttLink; between its slices
    the capture is paused (no frames, the node idles) while bare MediaPipe runs in the same process.
    The camera runs `camera_factor` times faster than the model, so the model is the bottleneck.
    """
    bare = BarePose(frames)
    probe_count, probe_s = bare.run(min(2.0, seconds / 2))
    camera_fps = min(MAX_SOURCE_FPS, camera_factor * probe_count / probe_s)
    source = ClipSource(clip, camera_fps)
    config = node_config(workdir / f"threaded-{camera_factor:g}", broker_url, "bench-pipeline")
    node = InProcessNode(config, source)
    # How long the processing loop waits for a frame, and how long each whole loop pass takes.
    timer = StageTimer()
    waits = timer.ms.setdefault("wait for a frame", [])
    take = node.slot.take

    def timed_take(timeout: float) -> Frame | None:
        started = time.perf_counter()
        frame = take(timeout)
        if frame is not None:  # the paused slices (bare MediaPipe running) do not count
            waits.append((time.perf_counter() - started) * 1000)
        return frame

    node.slot.take = timed_take  # type: ignore[method-assign]
    node.node.process = timer.wrap("process (pose, posture, publish)", node.node.process)
    node.node.tick = timer.wrap("tick", node.node.tick)
    rounds = max(2, round(seconds / SLICE_S))
    bare_frames = pipe_frames = 0
    bare_s = pipe_s = 0.0
    per_round: list[float] = []
    dropped = 0
    try:
        node.connect()
        with node.running():
            time.sleep(WARM_UP_S)
            for _ in range(rounds):
                node.capture.pause()
                time.sleep(0.3)  # the node finishes its frame and idles
                count, elapsed = bare.run(SLICE_S)
                bare_frames, bare_s = bare_frames + count, bare_s + elapsed
                node.capture.resume()
                time.sleep(0.3)  # the camera reopens and the first frame is processed
                processed0, dropped0, t0 = (
                    node.node.metrics.processed_total,
                    node.slot.dropped,
                    time.perf_counter(),
                )
                time.sleep(SLICE_S)
                done, took = node.node.metrics.processed_total - processed0, time.perf_counter() - t0
                dropped += node.slot.dropped - dropped0
                pipe_frames, pipe_s = pipe_frames + done, pipe_s + took
                per_round.append((done / took) / (count / elapsed))
    finally:
        node.close()
        bare.close()
    bare_fps, pipe_fps = bare_frames / bare_s, pipe_frames / pipe_s
    return {
        "camera_fps": round(camera_fps, 1),
        "camera_factor": camera_factor,
        "rounds": rounds,
        "bare_fps": round(bare_fps, 2),
        "bare_ms": summary(bare.ms),
        "fps": round(pipe_fps, 2),
        "ratio": round(pipe_fps / bare_fps, 3),
        "ratio_per_round": summary(per_round, 3),
        "dropped_latest_wins": dropped,
        "decode_ms": summary(source.decode_ms),
        "inference_ms": summary(node.estimator.inference_ms),
        "loop_ms": {name: summary(values, 3) for name, values in timer.ms.items()},
    }


class StageTimer:
    """Wraps callables so each call's duration lands in a named list."""

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = {}

    def wrap(self, name: str, func: Callable[..., T]) -> Callable[..., T]:
        bucket = self.ms.setdefault(name, [])

        def timed(*args: Any, **kwargs: Any) -> T:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                bucket.append((time.perf_counter() - started) * 1000)

        return timed


def sequential_stages(
    workdir: Path, broker_url: str, clip: Sequence[bytes], seconds: float
) -> dict[str, Any]:
    """Node.process() called back to back on decoded frames, with every stage timed."""
    source = ClipSource(clip, 1000.0)
    config = node_config(workdir / "sequential", broker_url, "bench-stages")
    node = InProcessNode(config, source)
    timer = StageTimer()
    # Instrumentation only: the node's parts look these names up in their modules on every frame.
    patched: dict[str, tuple[Any, str]] = {
        "classify": (engine_module, "classify"),
        "jpeg encode": (publisher_module, "encode_frame"),
    }
    saved = {label: getattr(module, name) for label, (module, name) in patched.items()}
    inner = node.node
    try:
        node.connect()
        node.link.publish = timer.wrap("publish", node.link.publish)  # type: ignore[method-assign]
        inner.publish_state = timer.wrap("state (build + publish)", inner.publish_state)
        for label, (module, name) in patched.items():
            setattr(module, name, timer.wrap(label, saved[label]))
        total: list[float] = []
        decode_ms: list[float] = []
        tick_ms: list[float] = []
        started = time.perf_counter()
        index = 0
        while time.perf_counter() - started < seconds:
            t0 = time.perf_counter()
            image = decode(clip[index % len(clip)])
            t1 = time.perf_counter()
            index += 1
            inner.process(Frame(image=image, ts=time.time(), mono=time.monotonic(), seq=index))
            t2 = time.perf_counter()
            inner.tick(time.time())
            t3 = time.perf_counter()
            decode_ms.append((t1 - t0) * 1000)
            total.append((t3 - t0) * 1000)
            tick_ms.append((t3 - t2) * 1000)
        elapsed = time.perf_counter() - started
    finally:
        for label, (module, name) in patched.items():
            setattr(module, name, saved[label])
        node.close()
    stages = {
        "grab/decode": summary(decode_ms, 3),
        "inference (mediapipe)": summary(node.estimator.inference_ms, 3),
        "detect (+ BGR→RGB, landmarks)": summary(node.estimator.detect_ms, 3),
        **{name: summary(values, 3) for name, values in timer.ms.items()},
        "tick (commands, camera, stats)": summary(tick_ms, 3),
        "whole frame": summary(total, 3),
    }
    return {"fps": round(len(total) / elapsed, 2), "frames": len(total), "stages_ms": stages}


def run(workdir: Path, broker_url: str, photos: Sequence[Photo], seconds: float) -> dict[str, Any]:
    """The ratio (camera 1.25x the model), a stress case (camera 2x), and the per-stage times."""
    clip = make_clip(photos)
    frames = [decode(jpeg) for jpeg in clip]
    log.info("pipeline: %d frames from %d photos, %.0f s per measurement", len(clip), len(photos), seconds)
    main = interleaved(workdir, broker_url, clip=clip, frames=frames, camera_factor=1.25, seconds=seconds)
    stress = interleaved(workdir, broker_url, clip=clip, frames=frames, camera_factor=2.0, seconds=seconds)
    sequential = sequential_stages(workdir, broker_url, clip, min(seconds, 10.0))
    return {
        "frames_in_clip": len(clip),
        "photos": len(photos),
        "seconds": seconds,
        "threaded": main,
        "stress": stress,
        "sequential": sequential,
        "bare_fps": main["bare_fps"],
        "ratio_threaded": main["ratio"],
        "budget": "processed fps >= 90 % of bare inference fps",
        "met": main["ratio"] >= 0.9,
    }
