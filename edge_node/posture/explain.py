"""Why a reading says what it says, as lines on the picture: for the `pose` topic and burned-in frames.

Pure: the landmarks the engine used, in picture coordinates (0-1 of the width and height), and for
each judged measure the segment it was taken on, its value, the limit and whether it was broken.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from edge_node.posture.geometry import Baseline, Limit, Reading, limits
from edge_node.posture.seen import Seen
from edge_node.vision.landmarks import Landmark, Point, Pose
from edge_node.vocabulary import Sensitivity, View

# The landmarks the engine measures with, by their name on the `pose` topic.
POINTS: Final[Mapping[str, Landmark]] = {
    "nose": Landmark.NOSE,
    "left_eye": Landmark.LEFT_EYE,
    "right_eye": Landmark.RIGHT_EYE,
    "left_ear": Landmark.LEFT_EAR,
    "right_ear": Landmark.RIGHT_EAR,
    "left_shoulder": Landmark.LEFT_SHOULDER,
    "right_shoulder": Landmark.RIGHT_SHOULDER,
    "left_hip": Landmark.LEFT_HIP,
    "right_hip": Landmark.RIGHT_HIP,
}
# Each measure's short name, as a person reads it on the picture ("neck 38° > 25°").
LINE_NAMES: Final[Mapping[str, str]] = {
    "neck_deg": "neck",
    "torso_deg": "torso",
    "head_height_ratio": "head height",
    "face_width_ratio": "head width",
    "shoulder_tilt_deg": "shoulders",
    "neck_side_deg": "head tilt",
    "lean_deg": "lean",
}
Op = Literal[">", "<"]
XY = tuple[float, float]


@dataclass(frozen=True)
class Line:
    """One measure drawn: from `a` to `b`, its value against the limit it was nearest to breaking."""

    name: str
    measure: str
    a: XY
    b: XY
    value: float
    limit: float
    op: Op
    broken: bool


@dataclass(frozen=True)
class Explanation:
    """Points (name → x, y, visibility; 0-1 of the picture) and the lines behind the verdict."""

    points: dict[str, tuple[float, float, float]]
    lines: tuple[Line, ...]
    aspect: float
    view: View


def _xy(pose: Pose, point: Point) -> XY:
    """Isotropic landmark units → 0-1 of the picture's width and height."""
    aspect = pose.width / pose.height
    return round(min(1.0, max(0.0, point.x / aspect)), 4), round(min(1.0, max(0.0, point.y)), 4)


def _mid(seen: Seen, *landmarks: Landmark) -> XY | None:
    usable = [seen.pose[lm] for lm in landmarks if seen.usable(lm)]
    if not usable:
        return None
    xs, ys = zip(*(_xy(seen.pose, p) for p in usable), strict=True)
    return round(sum(xs) / len(xs), 4), round(sum(ys) / len(ys), 4)


def _segments(seen: Seen) -> dict[str, tuple[XY | None, XY | None]]:
    """Where each measure is taken: its two ends."""
    ears = _mid(seen, Landmark.LEFT_EAR, Landmark.RIGHT_EAR)
    shoulders = _mid(seen, Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    hips = _mid(seen, Landmark.LEFT_HIP, Landmark.RIGHT_HIP)
    nose = _mid(seen, Landmark.NOSE)
    return {
        "neck_deg": (ears, shoulders),
        "torso_deg": (shoulders, hips),
        "head_height_ratio": (shoulders, nose),
        "face_width_ratio": (_mid(seen, Landmark.RIGHT_EAR), _mid(seen, Landmark.LEFT_EAR)),
        "shoulder_tilt_deg": (_mid(seen, Landmark.RIGHT_SHOULDER), _mid(seen, Landmark.LEFT_SHOULDER)),
        "neck_side_deg": (_mid(seen, Landmark.RIGHT_EAR), _mid(seen, Landmark.LEFT_EAR)),
        "lean_deg": (hips, shoulders),
    }


def _nearest(rules: list[Limit], value: float) -> Limit:
    """Of a measure's limits, the broken one, else the one on the value's side of the range."""
    broken = [rule for rule in rules if rule.broken({rule.measure: value})]
    if broken:
        return broken[0]
    return min(rules, key=lambda rule: abs(rule.value - value))


def explain(
    pose: Pose, reading: Reading, *, sensitivity: Sensitivity, baseline: Baseline | None = None
) -> Explanation:
    """The points the engine could use and the lines of the measures it judged."""
    seen = Seen.of(pose)
    points = {
        name: (*_xy(pose, pose[landmark]), round(pose[landmark].visibility, 3))
        for name, landmark in POINTS.items()
        if seen.usable(landmark)
    }
    ends = _segments(seen)
    by_measure: dict[str, list[Limit]] = {}
    for rule in limits(reading.view, sensitivity, baseline):
        by_measure.setdefault(rule.measure, []).append(rule)
    lines = []
    for measure in reading.judged:
        a, b = ends.get(measure, (None, None))
        rules = by_measure.get(measure)
        if a is None or b is None or not rules:
            continue
        value = reading.measures[measure]
        rule = _nearest(rules, value)
        lines.append(
            Line(
                name=LINE_NAMES.get(measure, measure),
                measure=measure,
                a=a,
                b=b,
                value=round(value, 3),
                limit=round(rule.value, 3),
                op=">" if rule.above else "<",
                broken=rule.broken({measure: value}),
            )
        )
    return Explanation(points, tuple(lines), round(pose.width / pose.height, 4), reading.view)
