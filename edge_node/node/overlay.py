"""The skeleton burned into a frame, for clients that cannot draw (Home Assistant's camera, a shell).

The same lines and colours the dashboard draws from `pose`: the posture's colour from the shared
palette, broken measures thicker in the `bad` colour and labelled with value and limit.
"""

from __future__ import annotations

from typing import Final

import cv2

from edge_node.posture.explain import Explanation, Line
from edge_node.vision.landmarks import Image
from edge_node.vocabulary import POSTURE_COLOURS

# Bones between the landmarks the engine uses (names as on the `pose` topic).
BONES: Final = (
    ("left_ear", "left_eye"),
    ("left_eye", "nose"),
    ("nose", "right_eye"),
    ("right_eye", "right_ear"),
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"),
    ("left_hip", "right_hip"),
)


def bgr(hex_colour: str) -> tuple[int, int, int]:
    """`#rrggbb` → OpenCV's (b, g, r)."""
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return b, g, r


def label(line: Line) -> str:
    """What a person reads next to a line: `neck 38° > 25°` or `head height 0.31 < 0.35`."""
    if line.measure.endswith("_deg"):
        return f"{line.name} {line.value:.0f}° {line.op} {line.limit:.0f}°"
    return f"{line.name} {line.value:.2f} {line.op} {line.limit:.2f}"


def draw(image: Image, explanation: Explanation, posture: str) -> Image:
    """A copy of `image` with the skeleton and the measures drawn on it (scaled to its size)."""
    out = image.copy()
    height, width = out.shape[:2]
    thick = max(1, round(min(width, height) / 240))
    colour = bgr(POSTURE_COLOURS.get(posture, POSTURE_COLOURS["unknown"]))
    broken_colour = bgr(POSTURE_COLOURS["bad"])

    def at(xy: tuple[float, float]) -> tuple[int, int]:
        return round(xy[0] * (width - 1)), round(xy[1] * (height - 1))

    points = {name: at((x, y)) for name, (x, y, _v) in explanation.points.items()}
    for start, end in BONES:
        if start in points and end in points:
            cv2.line(out, points[start], points[end], colour, thick, cv2.LINE_AA)
    for point in points.values():
        cv2.circle(out, point, thick * 2, colour, -1, cv2.LINE_AA)
    for line in explanation.lines:
        a, b = at(line.a), at(line.b)
        shade = broken_colour if line.broken else colour
        cv2.line(out, a, b, shade, thick * (3 if line.broken else 1), cv2.LINE_AA)
        if line.broken:
            text_at = (min(a[0], b[0]) + thick * 4, max(12 * thick, (a[1] + b[1]) // 2))
            cv2.putText(
                out, label(line), text_at, cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, shade, thick, cv2.LINE_AA
            )
    return out
