"""Pose landmarks as plain values: the seam between MediaPipe (`edge_node.vision.pose`) and posture math.

Coordinates are isotropic: `x` and `y` are in units of the image height (MediaPipe's normalised
x is multiplied by width/height), so angles and distance ratios measured on them are true to the
picture whatever its aspect ratio. `y` grows downwards, as in the image. `z` is MediaPipe's depth
(hip-centred, smaller is nearer the camera), scaled like `x`. `visibility` is 0..1.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeAlias

import numpy as np

# A BGR (or RGB) image as OpenCV hands it over.
Image: TypeAlias = np.ndarray[Any, np.dtype[Any]]


class Landmark(IntEnum):
    """MediaPipe Pose landmark indices used by the posture engine."""

    NOSE = 0
    LEFT_EYE = 2
    RIGHT_EYE = 5
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_HIP = 23
    RIGHT_HIP = 24


NUM_LANDMARKS = 33


@dataclass(frozen=True, slots=True)
class PictureStats:
    """How much light and detail a frame has: mean and standard deviation of its luma (0-255)."""

    brightness: float
    contrast: float


@dataclass(frozen=True, slots=True)
class Point:
    """One landmark in isotropic image units."""

    x: float
    y: float
    z: float
    visibility: float


@dataclass(frozen=True, slots=True)
class Pose:
    """All 33 landmarks of one detected person, plus the image size they came from."""

    points: tuple[Point, ...]
    width: int
    height: int

    def __post_init__(self) -> None:
        if len(self.points) != NUM_LANDMARKS:
            raise ValueError(f"a pose has {NUM_LANDMARKS} landmarks, got {len(self.points)}")

    def __getitem__(self, landmark: Landmark) -> Point:
        return self.points[landmark]

    @classmethod
    def from_normalized(cls, rows: list[tuple[float, float, float, float]], width: int, height: int) -> Pose:
        """Build from MediaPipe-style normalised (x, y, z, visibility) rows."""
        aspect = width / height
        points = tuple(Point(x * aspect, y, z * aspect, v) for x, y, z, v in rows)
        return cls(points=points, width=width, height=height)
