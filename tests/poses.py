"""Landmark fixtures: literal MediaPipe landmarks and people built from body proportions (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from edge_node.vision.landmarks import NUM_LANDMARKS, Landmark, Point, Pose

Row = tuple[float, float, float, float]  # x, y, z, visibility (isotropic units, as in Pose)
HEAD = (
    Landmark.NOSE, Landmark.LEFT_EYE, Landmark.RIGHT_EYE, Landmark.LEFT_EAR, Landmark.RIGHT_EAR,
    Landmark.MOUTH_LEFT, Landmark.MOUTH_RIGHT,
)  # fmt: skip
HIDDEN: Row = (0.0, 0.0, 0.0, 0.0)

# MediaPipe's landmarks on scikit-image's astronaut (512x512, a frontal waist-up portrait, upright).
ASTRONAUT: dict[Landmark, Row] = {
    Landmark.NOSE: (0.435, 0.250, -0.830, 1.00),
    Landmark.LEFT_EYE: (0.486, 0.220, -0.779, 1.00),
    Landmark.RIGHT_EYE: (0.400, 0.202, -0.794, 1.00),
    Landmark.LEFT_EAR: (0.523, 0.240, -0.436, 1.00),
    Landmark.RIGHT_EAR: (0.372, 0.210, -0.493, 1.00),
    Landmark.MOUTH_LEFT: (0.457, 0.301, -0.696, 1.00),
    Landmark.MOUTH_RIGHT: (0.402, 0.288, -0.712, 1.00),
    Landmark.LEFT_SHOULDER: (0.598, 0.501, -0.166, 1.00),
    Landmark.RIGHT_SHOULDER: (0.220, 0.469, -0.354, 1.00),
    Landmark.LEFT_ELBOW: (0.630, 0.732, -0.052, 0.33),
    Landmark.RIGHT_ELBOW: (0.126, 0.808, -0.469, 0.76),
    Landmark.LEFT_HIP: (0.472, 0.980, 0.031, 0.22),
    Landmark.RIGHT_HIP: (0.251, 1.038, -0.029, 0.26),
}

# MediaPipe's landmarks on a side-view photo of a man sitting straight (720x1280, facing image left).
SIDE_STRAIGHT: dict[Landmark, Row] = {
    Landmark.NOSE: (0.300, 0.158, -0.026, 1.00),
    Landmark.LEFT_EYE: (0.313, 0.140, -0.056, 1.00),
    Landmark.RIGHT_EYE: (0.307, 0.138, -0.012, 1.00),
    Landmark.LEFT_EAR: (0.342, 0.151, -0.124, 1.00),
    Landmark.RIGHT_EAR: (0.333, 0.146, 0.070, 1.00),
    Landmark.MOUTH_LEFT: (0.310, 0.176, -0.048, 1.00),
    Landmark.MOUTH_RIGHT: (0.305, 0.176, 0.008, 1.00),
    Landmark.LEFT_SHOULDER: (0.362, 0.265, -0.234, 1.00),
    Landmark.RIGHT_SHOULDER: (0.368, 0.246, 0.198, 1.00),
    Landmark.LEFT_ELBOW: (0.327, 0.397, -0.147, 0.91),
    Landmark.RIGHT_ELBOW: (0.329, 0.374, 0.217, 0.06),
    Landmark.LEFT_HIP: (0.330, 0.483, -0.136, 1.00),
    Landmark.RIGHT_HIP: (0.326, 0.465, 0.135, 1.00),
}


def make_pose(rows: Mapping[Landmark, Row], width: int = 640, height: int = 480) -> Pose:
    """A Pose from a few literal landmarks; every other landmark is hidden."""
    points = [Point(*HIDDEN)] * NUM_LANDMARKS
    for landmark, row in rows.items():
        points[landmark] = Point(*row)
    return Pose(points=tuple(points), width=width, height=height)


def webcam_front(
    *,
    head_drop: float = 0.0,
    head_scale: float = 1.0,
    head_roll_deg: float = 0.0,
    tilt_deg: float = 0.0,
    torso: bool = False,
) -> dict[Landmark, Row]:
    """Head and shoulders as a monitor webcam sees them (16:9, hips below the picture).

    Proportions from anthropometry: nose 0.5 shoulder widths above the shoulder line, ears 0.4 apart.
    `head_drop` lowers the head (in shoulder widths), `head_scale` enlarges it about its centre,
    `tilt_deg` tilts the shoulders and the head with them, `head_roll_deg` tilts the head further
    (degrees, clockwise on screen).
    """
    # Head and shoulders, the upper arms in view (over 0.4 shoulder widths below the shoulders); with
    # `torso`, a camera further back that shows the whole torso down to the hips.
    span, cx, sy = (0.36, 0.89, 0.42) if torso else (0.60, 0.89, 0.62)
    half = span / 2
    dy = half * math.tan(math.radians(tilt_deg))
    rows: dict[Landmark, Row] = {
        Landmark.LEFT_SHOULDER: (cx + half, sy + dy, -0.05, 0.99),
        Landmark.RIGHT_SHOULDER: (cx - half, sy - dy, -0.05, 0.99),
    }
    head_y = sy - 0.5 * span + head_drop * span
    head_x = cx
    roll = math.radians(head_roll_deg + tilt_deg)  # a tilted trunk carries the head along
    cos, sin = math.cos(roll), math.sin(roll)
    offsets = {
        Landmark.NOSE: (0.0, 0.0, -0.6),
        Landmark.LEFT_EYE: (0.045, -0.035, -0.55),
        Landmark.RIGHT_EYE: (-0.045, -0.035, -0.55),
        Landmark.LEFT_EAR: (0.12, -0.02, -0.3),
        Landmark.RIGHT_EAR: (-0.12, -0.02, -0.3),
        Landmark.MOUTH_LEFT: (0.03, 0.045, -0.55),
        Landmark.MOUTH_RIGHT: (-0.03, 0.045, -0.55),
    }
    for landmark, (ox, oy, z) in offsets.items():
        rx, ry = ox * cos - oy * sin, ox * sin + oy * cos
        size = head_scale * span / 0.60  # the head keeps its proportion to the shoulders
        rows[landmark] = (head_x + rx * size, head_y + ry * size, z, 0.99)
    if torso:  # the hips 1.3 shoulder widths below the shoulders, as in adults, tilted with them
        hy = sy + 1.3 * span
        rows[Landmark.LEFT_HIP] = (cx + 0.3 * span, hy + dy * 0.6, 0.0, 0.95)
        rows[Landmark.RIGHT_HIP] = (cx - 0.3 * span, hy - dy * 0.6, 0.0, 0.95)
    else:
        rows[Landmark.LEFT_HIP] = (cx + 0.2, 1.4, 0.0, 0.05)  # below the picture: not used
        rows[Landmark.RIGHT_HIP] = (cx - 0.2, 1.4, 0.0, 0.05)
    return rows


def side_view(
    *, neck_deg: float, torso_deg: float, facing: int = 1, hips: bool = True
) -> dict[Landmark, Row]:
    """A seated person seen from the side, built from the two angles (forward positive)."""
    torso, neck = 0.23, 0.10  # shoulder-hip and ear-shoulder lengths in picture heights
    hx, hy = 0.6, 0.8
    sx = hx + facing * torso * math.sin(math.radians(torso_deg))
    sy = hy - torso * math.cos(math.radians(torso_deg))
    ex = sx + facing * neck * math.sin(math.radians(neck_deg))
    ey = sy - neck * math.cos(math.radians(neck_deg))
    rows: dict[Landmark, Row] = {
        Landmark.LEFT_SHOULDER: (sx, sy, -0.2, 0.99),
        Landmark.RIGHT_SHOULDER: (sx, sy - 0.004, 0.2, 0.95),
        Landmark.LEFT_EAR: (ex, ey, -0.1, 0.99),
        Landmark.RIGHT_EAR: (ex, ey - 0.004, 0.08, 0.9),
        Landmark.NOSE: (ex + facing * 0.04, ey + 0.008, -0.02, 0.99),
        Landmark.LEFT_EYE: (ex + facing * 0.03, ey - 0.01, -0.05, 0.99),
        Landmark.RIGHT_EYE: (ex + facing * 0.028, ey - 0.011, 0.0, 0.99),
        Landmark.MOUTH_LEFT: (ex + facing * 0.034, ey + 0.026, -0.04, 0.99),
        Landmark.MOUTH_RIGHT: (ex + facing * 0.032, ey + 0.025, 0.0, 0.99),
    }
    if hips:
        rows[Landmark.LEFT_HIP] = (hx, hy, -0.13, 0.99)
        rows[Landmark.RIGHT_HIP] = (hx, hy - 0.004, 0.13, 0.99)
    return rows


def rotate(rows: Mapping[Landmark, Row], which: tuple[Landmark, ...], about: tuple[float, float], deg: float):
    """Rotate some landmarks about a point in the picture (positive = clockwise on screen)."""
    cos, sin = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    out = dict(rows)
    for landmark in which:
        x, y, z, v = rows[landmark]
        dx, dy = x - about[0], y - about[1]
        out[landmark] = (about[0] + dx * cos - dy * sin, about[1] + dx * sin + dy * cos, z, v)
    return out


def mid(rows: Mapping[Landmark, Row], a: Landmark, b: Landmark) -> tuple[float, float]:
    return (rows[a][0] + rows[b][0]) / 2, (rows[a][1] + rows[b][1]) / 2


def with_visibility(rows: Mapping[Landmark, Row], which: tuple[Landmark, ...], visibility: float):
    return {k: (*v[:3], visibility) if k in which else v for k, v in rows.items()}
