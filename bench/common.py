"""What every benchmark shares: the bench frames, a paced camera-like source, an in-process node, stats."""

from __future__ import annotations

import importlib.metadata
import logging
import math
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil

from edge_node.cli.clip import cover, webcam_noise
from edge_node.config import Config, validate_config
from edge_node.mqtt.link import MqttLink, MqttProtocol
from edge_node.node import Node
from edge_node.vision.capture import Capture
from edge_node.vision.frames import LatestSlot
from edge_node.vision.landmarks import Image
from edge_node.vision.pose import Detection, PoseEstimator
from edge_node.vision.sources import SourceInfo
from edge_node.wiring import Parts, build, pose_estimator

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SHARED_POSTURE = ROOT.parent / "shared" / "data" / "posture"
FRAME_SIZE = (640, 480)  # what a USB webcam delivers by default
JPEG_QUALITY = 90  # frames are stored as a camera's MJPEG would deliver them
CLIP_FRAMES_PER_PHOTO = 12  # a photo is held for this many frames, as a sitting person is


# --------------------------------------------------------------------------- numbers


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def summary(values: Sequence[float], digits: int = 2) -> dict[str, float | int | None]:
    """n, mean, p50, p95, p99 and max of `values`."""

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, digits)

    return {
        "n": len(values),
        "mean": r(sum(values) / len(values)) if values else None,
        "p50": r(percentile(values, 50)),
        "p95": r(percentile(values, 95)),
        "p99": r(percentile(values, 99)),
        "max": r(max(values)) if values else None,
    }


# --------------------------------------------------------------------------- frames


@dataclass(frozen=True)
class Photo:
    """One still, scaled and cropped to the camera size, and whether a person is in it."""

    name: str
    image: Image
    person: bool


def load_photos(size: tuple[int, int] = FRAME_SIZE, *, shared: bool = True) -> list[Photo]:
    """scikit-image's photos (there with the test extras), plus the shared posture photos if present."""
    from skimage import data

    astronaut = data.astronaut()  # type: ignore[no-untyped-call]
    photos = [Photo("astronaut", cover(cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR), size), True)]
    for name in ("coffee", "rocket"):
        rgb = getattr(data, name)()
        photos.append(Photo(name, cover(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), size), False))
    images = SHARED_POSTURE / "images"
    if shared and images.is_dir():
        for folder, person in (("good", True), ("bad", True), ("empty", False)):
            for path in sorted((images / folder).iterdir()):
                if path.name.startswith("kasinath_"):
                    continue  # drawn-on skeletons: MediaPipe misses the person (see the data's README)
                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if image is not None:
                    photos.append(Photo(f"{folder}/{path.stem}", cover(image, size), person))
    return photos


def make_clip(photos: Sequence[Photo], per_photo: int = CLIP_FRAMES_PER_PHOTO, seed: int = 7) -> list[bytes]:
    """A camera-like clip as MJPEG frames: each photo held for `per_photo` noisy, slightly moving frames."""
    rng = np.random.default_rng(seed)
    frames = []
    for photo in photos:
        for _ in range(per_photo):
            ok, buffer = cv2.imencode(
                ".jpg", webcam_noise(photo.image, rng), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
            )
            if not ok:
                raise RuntimeError("JPEG encoding failed")
            frames.append(buffer.tobytes())
    return frames


def decode(jpeg: bytes) -> Image:
    """Decode one MJPEG frame (what OpenCV does inside a camera read)."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("corrupt bench frame")
    return image


class ClipSource:
    """A camera stand-in: decodes MJPEG frames at a camera's own pace (it sleeps, it never spins)."""

    def __init__(self, frames: Sequence[bytes], fps: float) -> None:
        self._frames = list(frames)
        self._period = 1.0 / fps
        self._index = 0
        self._next_due = 0.0
        self.description = f"bench clip ({len(frames)} frames at {fps:g} fps)"
        self.decode_ms: list[float] = []

    def open(self) -> SourceInfo:
        self._index = 0
        self._next_due = time.monotonic()
        return SourceInfo(FRAME_SIZE, 1.0 / self._period, is_file=False)

    def grab(self) -> bool:
        delay = self._next_due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next_due = max(self._next_due + self._period, time.monotonic() - self._period)
        self._index += 1
        return True

    def retrieve(self) -> Image:
        jpeg = self._frames[(self._index - 1) % len(self._frames)]
        started = time.perf_counter()
        image = decode(jpeg)
        if len(self.decode_ms) < 100_000:
            self.decode_ms.append((time.perf_counter() - started) * 1000)
        return image

    def close(self) -> None:
        """Nothing to release."""


class TimedEstimator:
    """The real PoseEstimator, remembering how long each call took."""

    def __init__(self, estimator: PoseEstimator) -> None:
        self._estimator = estimator
        self.model_name = estimator.model_name
        self.detect_ms: list[float] = []
        self.inference_ms: list[float] = []
        self.last: Detection | None = None

    def detect(self, image_bgr: Image) -> Detection:
        started = time.perf_counter()
        detection = self._estimator.detect(image_bgr)
        self.detect_ms.append((time.perf_counter() - started) * 1000)
        self.inference_ms.append(detection.inference_ms)
        self.last = detection
        return detection

    def close(self) -> None:
        self._estimator.close()


# --------------------------------------------------------------------------- an in-process node


def node_config(data_dir: Path, broker_url: str, node_id: str, **sections: dict[str, Any]) -> Config:
    """A real Config for a bench node; `sections` override e.g. posture={...}."""
    data: dict[str, Any] = {
        "node_id": node_id,
        "data_dir": str(data_dir),
        "camera": {"source": "bench-clip", "max_fps": 120},
        "mqtt": {"broker": broker_url},
        "homeassistant": {"enabled": False},
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return validate_config(data)


@dataclass
class InProcessNode:
    """The node's real parts, built by `edge_node.wiring` as the daemon builds them, in this process."""

    config: Config
    source: ClipSource
    protocol: MqttProtocol = "auto"
    estimator: TimedEstimator = field(init=False)
    parts: Parts = field(init=False)
    capture_started: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        address = self.config.mqtt.address()
        assert address is not None
        self.estimator = TimedEstimator(pose_estimator(self.config))
        self.parts = build(
            self.config,
            address,
            protocol=self.protocol,
            estimator=self.estimator,
            source_factory=lambda _config: self.source,
            client_id=f"bench-{self.config.node_id}",
        )

    @property
    def node(self) -> Node:
        return self.parts.node

    @property
    def link(self) -> MqttLink:
        return self.parts.link

    @property
    def capture(self) -> Capture:
        return self.parts.capture

    @property
    def slot(self) -> LatestSlot:
        return self.parts.slot

    def connect(self, timeout: float = 20.0) -> None:
        self.link.start()
        if not self.link.wait_connected(timeout):
            raise RuntimeError(f"bench node could not connect to {self.config.mqtt.broker}")

    @contextmanager
    def running(self) -> Iterator[None]:
        """Node.run() in a named thread (as the daemon's main loop) until the block ends."""
        stop = threading.Event()
        self.capture_started = True
        thread = threading.Thread(target=self.node.run, args=(stop,), name="bench-node", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(10)

    def close(self) -> None:
        if self.capture_started:
            self.parts.close()
        else:
            self.link.stop(timeout=1.5)
            self.estimator.close()


# --------------------------------------------------------------------------- processes and the machine


class CpuMeter:
    """CPU seconds and peak RSS of one process between start() and stop()."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self._cpu0 = 0.0
        self._t0 = 0.0
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _cpu(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system + getattr(times, "children_user", 0.0))

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
            except psutil.Error:
                return

    def start(self) -> CpuMeter:
        self._cpu0, self._t0 = self._cpu(), time.monotonic()
        self.peak_rss = self.process.memory_info().rss
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="cpu-meter", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        """CPU in % of one core over the interval, and peak RSS in MB."""
        cpu, elapsed = self._cpu() - self._cpu0, time.monotonic() - self._t0
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        return {
            "cpu_pct": round(100 * cpu / max(elapsed, 1e-6), 1),
            "rss_mb": round(self.peak_rss / 1_048_576, 1),
            "seconds": round(elapsed, 1),
        }


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    version = "not installed"
    if os.path.exists(mosquitto):
        out = subprocess.run([mosquitto, "-h"], capture_output=True, text=True, check=False).stdout
        version = out.splitlines()[0] if out else "unknown"
    return {
        "cpu": cpu,
        "cores": psutil.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "mediapipe": importlib.metadata.version("mediapipe"),
        "opencv": cv2.__version__,
        "mosquitto": version,
        "node_js": _node_version(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def _node_version() -> str:
    node = shutil.which("node")
    if not node:
        return "not installed"
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A temporary folder readable by mosquitto (which drops root to its own user)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)
