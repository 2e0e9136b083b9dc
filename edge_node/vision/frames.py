"""The hand-off from the capture thread to the processing loop: one frame at a time, latest wins.

A frame that was not taken in time is replaced by the newer one and counted as dropped: frames never
queue, so the loop always judges the newest picture however slow the model is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from edge_node.errors import EdgeNodeError
from edge_node.vision.landmarks import Image


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured image (BGR) with its capture time."""

    image: Image
    ts: float
    mono: float
    seq: int


class InvalidFrame(EdgeNodeError, ValueError):
    """A frame that cannot be an image (wrong shape or type)."""


def as_bgr(image: Image) -> Image:
    """Accept 8-bit gray, BGR and BGRA images; refuse anything else with InvalidFrame."""
    if not isinstance(image, np.ndarray) or image.size == 0:
        raise InvalidFrame("not an image")
    if image.dtype != np.uint8:
        raise InvalidFrame(f"pixel type {image.dtype}, expected uint8")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise InvalidFrame(f"shape {image.shape}, expected height x width x 3")


_ROTATE_CODES: dict[int, int] = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}


def turn(image: Image, rotation: int) -> Image:
    """The image turned clockwise by `rotation` degrees (0, 90, 180 or 270); 0 returns it as it is."""
    code = _ROTATE_CODES.get(rotation % 360)
    return image if code is None else cv2.rotate(image, code)


class LatestSlot:
    """A one-frame mailbox: a new frame replaces one not yet taken, which is counted as dropped."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        """Offer the newest frame; a frame still waiting is dropped (and counted)."""
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
            return frame

    def clear(self) -> None:
        """Drop a waiting frame without counting it (monitoring was turned off)."""
        with self._cond:
            self._frame = None
