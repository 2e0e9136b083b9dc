"""Frame sources and the capture thread with its latest-wins hand-off.

The capture thread owns the source: it opens it, reads frames at the source's own pace (a file
plays like a camera), hands each frame on through a one-slot `LatestSlot` (a frame that was not
taken in time is dropped and counted, never queued) and keeps retrying with capped exponential
backoff and jitter when the source fails. It never raises into the daemon.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import cv2

from edge_node.config import CameraConfig, redact_url
from edge_node.landmarks import Image
from edge_node.payloads import CameraError, CameraErrorKind, CameraStateName, CameraStatus

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
STREAM_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https", "rtmp", "udp", "tcp"})
# Consecutive failed reads before a camera counts as lost (a few are normal on USB hiccups).
MAX_READ_FAILURES = 10

HINTS: dict[CameraErrorKind, str] = {
    "not_found": "Plug the camera in (check `ls /dev/video*`) or point --source at a file or URL that "
    "exists.",
    "permission_denied": "Add the user to the video group (`sudo usermod -aG video $USER`, then log in "
    "again) or fix the file's permissions.",
    "busy": "Another program holds the camera (a video call?). Close it; `fuser -v /dev/video*` shows who.",
    "stream_ended": "The video file ended. Run with --loop to replay it, or restart the node.",
    "read_failed": "The source stopped delivering frames. Check the USB cable, power or network; "
    "the node keeps retrying.",
    "no_frames": "No frame arrived for a while. The camera may be covered by another program or "
    "failing; the node keeps retrying.",
    "unsupported": "OpenCV cannot decode this source. Use MP4/H.264, MJPEG, JPEG or PNG, or a camera.",
    "invalid_frame": "The source delivered an empty or corrupt frame; the node skips it.",
}


class SourceError(Exception):
    """A frame source failed; `kind` picks the fix-it hint."""

    def __init__(self, kind: CameraErrorKind, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.kind: CameraErrorKind = kind
        self.message = message
        self.retry = retry

    def to_payload(self) -> CameraError:
        return CameraError(kind=self.kind, message=self.message, hint=HINTS[self.kind])


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured image (BGR) with its capture time."""

    image: Image
    ts: float
    mono: float
    seq: int


@dataclass(frozen=True)
class SourceInfo:
    """What an opened source reports about itself."""

    resolution: tuple[int, int] | None
    fps: float | None
    is_file: bool


class FrameSource(Protocol):
    """Anything that yields BGR images, in two steps so a frame nobody will use is never decoded."""

    description: str

    def open(self) -> SourceInfo:
        """Open the device/file; raise SourceError."""

    def grab(self) -> bool:
        """Wait for the next frame without decoding it; False at the end of a file; raise SourceError."""

    def retrieve(self) -> Image:
        """Decode the frame grab() got; raise SourceError."""

    def close(self) -> None:
        """Release the device."""


# --------------------------------------------------------------------------- sources


def _device_problem(path: str) -> SourceError | None:
    """Explain why a V4L2 device path cannot be opened, if the file system tells."""
    if not os.path.exists(path):
        return SourceError("not_found", f"no camera at {path}")
    if not os.access(path, os.R_OK | os.W_OK):
        return SourceError("permission_denied", f"no permission to open {path}")
    return None


class OpenCVSource:
    """A camera (index or V4L2 path), a video file, or a network stream, through cv2.VideoCapture."""

    def __init__(self, target: int | str, *, kind: str, width: int | None = None, height: int | None = None):
        self._target = target
        self._kind = kind  # "camera", "file" or "stream"
        self._width, self._height = width, height
        self._capture: cv2.VideoCapture | None = None
        self._failures = 0
        self.description = (
            redact_url(str(target)) if kind != "camera" or isinstance(target, str) else (f"camera {target}")
        )

    def _device_path(self) -> str | None:
        if self._kind != "camera":
            return None
        return f"/dev/video{self._target}" if isinstance(self._target, int) else str(self._target)

    def open(self) -> SourceInfo:
        device = self._device_path()
        if device and os.name == "posix" and Path("/dev").is_dir():
            problem = _device_problem(device)
            if problem:
                raise problem
        if self._kind == "file" and not os.path.exists(str(self._target)):
            raise SourceError("not_found", f"file {self._target} does not exist")
        if self._kind == "camera":
            capture = cv2.VideoCapture(self._target, cv2.CAP_V4L2)
        else:
            capture = cv2.VideoCapture(self._target)
        if not capture.isOpened():
            capture.release()
            if self._kind == "camera":
                raise SourceError("busy", f"{self.description} exists but cannot be opened (in use?)")
            if self._kind == "file":
                raise SourceError("unsupported", f"cannot decode {self.description}", retry=False)
            raise SourceError("read_failed", f"cannot open stream {self.description}")
        if self._kind == "camera":
            # A camera buffers frames; one buffered frame keeps what we read close to now.
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            if self._width and self._height:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, self._width)
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self._height)
        self._capture = capture
        self._failures = 0
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or None
        if fps is not None and not (0 < fps < 1000):
            fps = None
        return SourceInfo((width, height) if width and height else None, fps, self._kind == "file")

    def _opened(self) -> cv2.VideoCapture:
        if self._capture is None:
            raise SourceError("read_failed", f"{self.description} is not open")
        return self._capture

    def _failed(self) -> SourceError:
        self._failures += 1
        if self._failures >= MAX_READ_FAILURES:
            device = self._device_path()
            problem = _device_problem(device) if device else None
            return problem or SourceError("read_failed", f"{self.description} stopped delivering frames")
        return SourceError("invalid_frame", f"{self.description} delivered no frame")

    def grab(self) -> bool:
        if self._opened().grab():
            return True
        if self._kind == "file":
            return False
        raise self._failed()

    def retrieve(self) -> Image:
        ok, image = self._opened().retrieve()
        if ok and image is not None and image.size:
            self._failures = 0
            return image
        raise self._failed()

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class ImageSource:
    """One image file or a folder of images, played in name order."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._files: list[Path] = []
        self._index = 0
        self._cached: tuple[Path, float, Image] | None = None
        self.description = str(path)

    def open(self) -> SourceInfo:
        if not self._path.exists():
            raise SourceError("not_found", f"{self._path} does not exist")
        if self._path.is_dir():
            self._files = sorted(p for p in self._path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self._files:
                raise SourceError(
                    "unsupported", f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {self._path}"
                )
        else:
            self._files = [self._path]
        self._index = 0
        first = self._load(self._files[0])
        height, width = first.shape[:2]
        return SourceInfo((width, height), None, True)

    def _load(self, path: Path) -> Image:
        try:
            mtime = path.stat().st_mtime
        except OSError as exc:
            raise SourceError("read_failed", f"{path} is gone ({exc.strerror})") from exc
        if self._cached and self._cached[0] == path and self._cached[1] == mtime:
            return self._cached[2]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None or not image.size:
            raise SourceError("unsupported", f"cannot decode image {path}", retry=False)
        # Only the last image is kept: a folder is read from disk, a single image is decoded once.
        self._cached = (path, mtime, image)
        return image

    def grab(self) -> bool:
        if self._index >= len(self._files):
            return False
        self._index += 1
        return True

    def retrieve(self) -> Image:
        return self._load(self._files[self._index - 1])

    def close(self) -> None:
        self._files = []


def make_source(camera: CameraConfig) -> FrameSource:
    """Pick the source type from `camera.source`."""
    spec = camera.source.strip()
    if spec.isdigit():
        return OpenCVSource(int(spec), kind="camera", width=camera.width, height=camera.height)
    if spec.startswith("/dev/"):
        return OpenCVSource(spec, kind="camera", width=camera.width, height=camera.height)
    scheme = urlsplit(spec).scheme.lower()
    if scheme in STREAM_SCHEMES:
        return OpenCVSource(spec, kind="stream")
    path = Path(spec).expanduser()
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path)
    return OpenCVSource(str(path), kind="file")


# --------------------------------------------------------------------------- hand-off


class LatestSlot:
    """A one-frame mailbox: a new frame replaces one not yet taken, which is counted as dropped."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self.dropped = 0
        self.delivered = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify()

    def take(self, timeout: float) -> Frame | None:
        """The newest frame, waiting up to `timeout` s; None if nothing arrived."""
        with self._cond:
            if self._frame is None:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
            if frame is not None:
                self.delivered += 1
            return frame

    def clear(self) -> None:
        with self._cond:
            self._frame = None


# --------------------------------------------------------------------------- capture thread


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Capped exponential backoff with "equal jitter": half fixed, half random."""
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return float(delay / 2 + rng.uniform(0, delay / 2))


@dataclass
class _Status:
    state: CameraStateName = "disconnected"
    info: SourceInfo | None = None
    error: CameraError | None = None
    retry_at: float | None = None
    attempts: int = 0
    since: float = field(default_factory=time.time)
    version: int = 0


class Capture:
    """Runs the named `capture` thread; `pause()` releases the device, `resume()` reopens it."""

    def __init__(
        self,
        camera: CameraConfig,
        slot: LatestSlot,
        *,
        source_factory: Callable[[CameraConfig], FrameSource] = make_source,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._camera = camera
        self._slot = slot
        self._factory = source_factory
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._status = _Status()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._paused = False
        self._seq = 0
        self.source_open = False
        self.ticks = 0  # advances on every loop pass; a stuck read stops it (watchdog)
        self.last_frame_mono: float | None = None
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)

    # ---- control (any thread)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def pause(self) -> None:
        """Release the camera and stop reading until resume()."""
        self._paused = True
        self._wake.set()

    def resume(self) -> None:
        self._paused = False
        self._wake.set()

    def retry_now(self) -> None:
        """Skip the current backoff wait."""
        self._wake.set()

    def status(self, source_label: str) -> tuple[int, CameraStatus]:
        """(version, payload) of the current camera status; the version changes with it."""
        with self._lock:
            s = self._status
            info = s.info
            return s.version, CameraStatus(
                state=s.state,
                source=source_label,
                resolution=info.resolution if info else None,
                fps=round(info.fps, 2) if info and info.fps else None,
                error=s.error,
                retry_at=s.retry_at,
                attempts=s.attempts,
                since=s.since,
                ts=self._clock(),
            )

    # ---- thread

    def _set_status(self, state: CameraStateName, **changes: object) -> None:
        with self._lock:
            s = self._status
            new = {"info": s.info, "error": None, "retry_at": None, "attempts": s.attempts, **changes}
            if state == s.state and all(getattr(s, k) == v for k, v in new.items()):
                return
            if state != s.state:
                s.since = self._clock()
            s.state = state
            for key, value in new.items():
                setattr(s, key, value)
            s.version += 1

    def _wait(self, seconds: float) -> None:
        """Sleep, waking early for stop/pause/resume/retry_now; `ticks` moves on while waiting."""
        deadline = time.monotonic() + seconds
        while not self._wake.wait(min(1.0, max(0.0, deadline - time.monotonic()))):
            self.ticks += 1  # waiting for a retry is progress, a stuck read is not (watchdog)
            if time.monotonic() >= deadline:
                break
        self._wake.clear()

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            self.ticks += 1
            if self._paused:
                self._set_status("paused", attempts=0)
                self._wait(1.0)
                continue
            source = self._factory(self._camera)
            try:
                info = source.open()
            except SourceError as exc:
                source.close()
                attempt += 1
                self._fail(exc, attempt)
                continue
            except Exception as exc:
                source.close()
                attempt += 1
                self._fail(SourceError("read_failed", f"{type(exc).__name__}: {exc}"), attempt)
                continue
            self.source_open = True
            log.info("camera connected: %s %s", source.description, info.resolution or "")
            try:
                attempt = self._read_loop(source, info)
            except SourceError as exc:
                attempt += 1
                self._fail(exc, attempt)
            finally:
                source.close()
                self.source_open = False

    def _fail(self, exc: SourceError, attempt: int) -> None:
        if not exc.retry:
            log.error("camera: %s (%s); not retrying: %s", exc.message, exc.kind, HINTS[exc.kind])
            self._set_status("disconnected", error=exc.to_payload(), retry_at=None, attempts=attempt)
            while not self._stop.is_set() and not self._paused:
                self.ticks += 1
                self._wait(1.0)
            return
        delay = backoff_delay(attempt, self._camera.retry_min_s, self._camera.retry_max_s, self._rng)
        log.warning("camera: %s (%s); retry %d in %.1f s", exc.message, exc.kind, attempt, delay)
        self._set_status(
            "disconnected", error=exc.to_payload(), retry_at=round(self._clock() + delay, 3), attempts=attempt
        )
        self._wait(delay)

    def _read_loop(self, source: FrameSource, info: SourceInfo) -> int:
        """Read until stop/pause/failure; returns the retry attempt counter to continue with."""
        self._set_status("connected", info=info, attempts=0)
        # Files are paced at their own frame rate (images at max_fps); cameras pace themselves.
        period = 1.0 / min(info.fps or self._camera.max_fps, 240.0) if info.is_file else 0.0
        # Hand-offs are due on a grid of 1/max_fps, so a 15 fps camera with max_fps 10 gives 10 fps
        # (measuring from the last hand-off would give 7.5).
        handoff_period = 1.0 / self._camera.max_fps
        next_due = next_handoff = time.monotonic()
        while not self._stop.is_set() and not self._paused:
            self.ticks += 1
            if period:
                delay = next_due - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                next_due = max(next_due + period, time.monotonic() - period)
            try:
                if not source.grab():
                    if info.is_file and self._camera.loop:
                        source.close()
                        source.open()
                        continue
                    raise SourceError("stream_ended", f"{source.description} ended", retry=False)
                now_mono = time.monotonic()
                self.last_frame_mono = now_mono
                if now_mono < next_handoff - 0.02 * handoff_period:
                    continue  # not needed: never decoded (on a Pi that saves most of the capture cost)
                image = source.retrieve()
            except SourceError as exc:
                if exc.kind != "invalid_frame":
                    raise
                self._set_status("degraded", error=exc.to_payload())
                continue
            if self._status.state != "connected":
                self._set_status("connected", info=info, attempts=0)
            next_handoff = max(next_handoff + handoff_period, now_mono)
            self._seq += 1
            self._slot.put(Frame(image=image, ts=self._clock(), mono=now_mono, seq=self._seq))
        return 0

    def mark_stalled(self, seconds: float) -> None:
        """Called by the processing loop when no frame arrived for `seconds`."""
        if self._status.state == "connected":
            error = SourceError("no_frames", f"no frame for {seconds:.0f} s").to_payload()
            self._set_status("degraded", error=error)
