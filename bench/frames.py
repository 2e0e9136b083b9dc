"""(d) Frames: bytes per frame and bandwidth at the defaults, encoded alone and measured on the wire."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.common import Photo, summary, wait_for
from edge_node.cli.clip import webcam_noise
from edge_node.config import FramesConfig
from edge_node.vision.jpeg import encode_frame
from tests.support import Daemon, Mosquitto, Watcher

log = logging.getLogger(__name__)

VIDEO_FPS = 15.0
CAMERA_SIZES = ((640, 480), (1280, 720))


def write_video(
    path: Path, photos: Sequence[Photo], *, seconds_per_photo: float = 3.0, seed: int = 11
) -> Path:
    """An MJPEG clip that plays like a desk camera: each scene held a few seconds, noisy, moving slightly."""
    rng = np.random.default_rng(seed)
    height, width = photos[0].image.shape[:2]
    fourcc = cv2.VideoWriter_fourcc(*"MJPG")  # type: ignore[attr-defined]
    writer = cv2.VideoWriter(str(path), fourcc, VIDEO_FPS, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path}")
    try:
        for photo in photos:
            for _ in range(round(seconds_per_photo * VIDEO_FPS)):
                writer.write(webcam_noise(photo.image, rng))
    finally:
        writer.release()
    return path


def encoded_sizes(photos: Sequence[Photo]) -> dict[str, Any]:
    """encode_frame() with the default FramesConfig on every photo, clean and with webcam noise."""
    cfg = FramesConfig()
    rng = np.random.default_rng(3)
    rows = {}
    for size in CAMERA_SIZES:
        for noisy in (False, True):
            sizes, qualities, ms = [], [], []
            for photo in photos:
                image = cv2.resize(photo.image, size)
                if noisy:
                    image = webcam_noise(image, rng)
                started = time.perf_counter()
                encoded = encode_frame(
                    image, max_width=cfg.width, quality=cfg.quality, max_bytes=cfg.max_bytes
                )
                ms.append((time.perf_counter() - started) * 1000)
                sizes.append(len(encoded.jpeg) / 1000)
                qualities.append(encoded.quality)
            key = f"{size[0]}x{size[1]}{' noisy' if noisy else ''}"
            rows[key] = {"kb": summary(sizes, 1), "encode_ms": summary(ms, 2), "min_quality": min(qualities)}
    return {"defaults": cfg.model_dump(), "camera_frames": rows}


def on_the_wire(workdir: Path, video: Path, seconds: float) -> dict[str, Any]:
    """The real daemon at its defaults on a desk-like clip: bytes per topic, seen by a TCP subscriber."""
    broker = Mosquitto(workdir / "mosquitto").start()
    node_id = "bench-frames"
    args = ["--broker", broker.url, "--source", str(video), "--loop", "--node-id", node_id]
    args += ["--data-dir", str(workdir / "data")]
    daemon = Daemon(args, workdir / "daemon").start()
    watcher = Watcher(broker.port, (f"deskpulse/{node_id}/#",)).wait_connected()
    try:
        wait_for(lambda: watcher.on(f"deskpulse/{node_id}/frame"), 120, "the first frame")
        time.sleep(2)
        mark, started = watcher.mark(), time.time()
        time.sleep(seconds)
        window = [m for m in watcher.messages[mark:] if m.at >= started]
        elapsed = time.time() - started
    finally:
        watcher.close()
        daemon.stop()
        broker.stop()
    per_topic: dict[str, list[int]] = {}
    for message in window:
        if message.payload:
            per_topic.setdefault(
                message.topic.rsplit("/", 1)[-1] if "/set" not in message.topic else "set", []
            ).append(len(message.payload))
    topics = {
        leaf: {
            "messages": len(sizes),
            "per_s": round(len(sizes) / elapsed, 2),
            "bytes_mean": round(sum(sizes) / len(sizes)),
            "bytes_max": max(sizes),
            "bytes_per_s": round(sum(sizes) / elapsed),
        }
        for leaf, sizes in sorted(per_topic.items())
    }
    frames = topics.get("frame", {})
    return {
        "seconds": round(elapsed, 1),
        "topics": topics,
        "total_bytes_per_s": sum(t["bytes_per_s"] for t in topics.values()),
        "frame_kb_max": round(frames.get("bytes_max", 0) / 1000, 1),
        "budget": "default frame <= 40 KB",
        "met": bool(frames) and frames["bytes_max"] <= 40_000,
    }


def run(workdir: Path, photos: Sequence[Photo], video: Path, seconds: float) -> dict[str, Any]:
    return {"encoded": encoded_sizes(photos), "wire": on_the_wire(workdir, video, seconds)}
