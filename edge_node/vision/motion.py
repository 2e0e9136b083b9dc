"""How much a scene changed since the frame the model last looked at: a cheap gate before inference.

A still scene is never a still picture: a webcam adds sensor noise to every frame, a desk lamp
flickers, hands type, a person breathes. The gate therefore compares tiny grey thumbnails (16
pixels wide: each averages a 40 x 40 block of a 640-wide frame, which cuts a webcam's sensor noise
of about 4 grey levels to a tenth and makes a sway of a few pixels a small part of a block), removes
a change of the whole picture's brightness (flicker, auto-exposure), and looks only at the region
the person's head, shoulders and trunk were in (typing hands below it do not count). The score is
the mean absolute difference in grey levels; a person sitting down, leaving or slumping changes it
by tens of levels. It costs about a millisecond (`scripts/bench.sh --only cpu` prints it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import cv2
import numpy as np

from edge_node.vision.landmarks import Image, Pose

THUMB_WIDTH: Final = 16
Thumb: TypeAlias = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True)
class Region:
    """A box in picture fractions (0-1): left, top, right, bottom."""

    left: float
    top: float
    right: float
    bottom: float

    @classmethod
    def everything(cls) -> Region:
        """The whole picture."""
        return cls(0.0, 0.0, 1.0, 1.0)


def thumbnail(image_bgr: Image) -> Thumb:
    """The frame as a small grey image (float32), what the gate compares."""
    height, width = image_bgr.shape[:2]
    size = (THUMB_WIDTH, max(1, round(height * THUMB_WIDTH / width)))
    small = cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA)
    grey: Thumb = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return grey


def change(before: Thumb, after: Thumb, region: Region | None = None) -> float:
    """Mean absolute change in grey levels inside `region`, after removing a change of overall light."""
    if before.shape != after.shape:
        return float("inf")  # a new picture size: treat as changed
    region = region or Region.everything()
    height, width = before.shape
    top, bottom = int(region.top * height), max(int(region.top * height) + 1, round(region.bottom * height))
    left, right = int(region.left * width), max(int(region.left * width) + 1, round(region.right * width))
    delta = after[top:bottom, left:right] - before[top:bottom, left:right]
    if delta.size == 0:
        return 0.0
    return float(np.mean(np.abs(delta - np.mean(delta))))


# Landmarks whose box the gate watches (head, shoulders, hips: what posture is judged from).
_BODY: Final = (0, 2, 5, 7, 8, 11, 12, 23, 24)
MARGIN: Final = 0.5  # the box grows by half its size on each side: a slump moves the head out of it


def region_of(pose: Pose | None) -> Region:
    """Where the person's head, shoulders and trunk are (grown by MARGIN), or the whole picture."""
    if pose is None:
        return Region.everything()
    aspect = pose.width / pose.height
    points = [pose.points[i] for i in _BODY if pose.points[i].visibility >= 0.5]
    xs = [min(1.0, max(0.0, p.x / aspect)) for p in points]
    ys = [min(1.0, max(0.0, p.y)) for p in points]
    if len(points) < 2 or max(xs) - min(xs) <= 0 or max(ys) - min(ys) <= 0:
        return Region.everything()
    grow_x, grow_y = MARGIN * (max(xs) - min(xs)), MARGIN * (max(ys) - min(ys))
    return Region(
        max(0.0, min(xs) - grow_x),
        max(0.0, min(ys) - grow_y),
        min(1.0, max(xs) + grow_x),
        min(1.0, max(ys) + grow_y),
    )
