"""Frame sources: cameras, video files, streams, images and folders of images.

Each source reads in two steps (grab, then retrieve), so a frame nobody will use is never decoded.
Errors are `SourceError`s whose `kind` picks a fix-it hint a person can act on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import cv2

from edge_node.config import CameraConfig, redact_url
from edge_node.errors import EdgeNodeError
from edge_node.payloads import CameraError
from edge_node.vision.landmarks import Image
from edge_node.vocabulary import CameraErrorKind

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


class SourceError(EdgeNodeError):
    """A frame source failed; `kind` picks the fix-it hint."""

    def __init__(self, kind: CameraErrorKind, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.kind: CameraErrorKind = kind
        self.message = message
        self.retry = retry

    def to_payload(self) -> CameraError:
        """The error as the `camera` topic reports it."""
        return CameraError(kind=self.kind, message=self.message, hint=HINTS[self.kind])


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
        """Open the source; raise SourceError."""
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
        """Wait for the next frame without decoding it; False at the end of a file."""
        if self._opened().grab():
            return True
        if self._kind == "file":
            return False
        raise self._failed()

    def retrieve(self) -> Image:
        """Decode the frame grab() got; raise SourceError."""
        ok, image = self._opened().retrieve()
        if ok and image is not None and image.size:
            self._failures = 0
            return image
        raise self._failed()

    def close(self) -> None:
        """Release the source."""
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
        """Open the source; raise SourceError."""
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
        """Wait for the next frame without decoding it; False at the end of a file."""
        if self._index >= len(self._files):
            return False
        self._index += 1
        return True

    def retrieve(self) -> Image:
        """Decode the frame grab() got; raise SourceError."""
        return self._load(self._files[self._index - 1])

    def close(self) -> None:
        """Release the source."""
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
