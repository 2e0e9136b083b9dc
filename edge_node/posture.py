"""Pure posture classification: landmarks in, a per-frame reading out.

No cv2, mediapipe, paho, logging set-up or globals here. The per-frame reading is debounced into
the published posture by `edge_node.steady`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge_node.landmarks import Landmark, Point, Pose
from edge_node.payloads import Sensitivity, View

Verdict = Literal["good", "bad", "unknown"]

# Landmarks below this visibility are not used (not guessed).
MIN_VISIBILITY = 0.5

REASON_TEXT: Mapping[str, str] = {
    "forward_head": "forward head",
    "slouch": "slouching",
    "recline": "leaning far back",
    "lean": "leaning sideways",
    "shoulder_tilt": "shoulders tilted",
    "no_shoulders": "shoulders not in view",
    "no_head": "head not in view",
}


@dataclass(frozen=True)
class Reading:
    """The verdict on one frame. `verdict` is meaningless when `person` is False."""

    person: bool
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    view: View = "unknown"
    measures: Mapping[str, float] = field(default_factory=dict)
    confidence: float = 0.0

    @property
    def reason_text(self) -> str | None:
        """Human words for `reasons`, or None."""
        return ", ".join(REASON_TEXT.get(r, r.replace("_", " ")) for r in self.reasons) or None


NO_PERSON = Reading(person=False, verdict="unknown")


class Baseline(BaseModel):
    """A user's calibrated good posture: the median of each measure over many frames."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: int = 1
    view: View
    measures: dict[str, float]
    frames: int = Field(0, ge=0)
    created_at: float = 0.0


# Neck inclination limits (degrees from vertical) by sensitivity.
NECK_LIMIT_DEG: Mapping[Sensitivity, float] = {"low": 30.0, "medium": 22.0, "high": 15.0}
TORSO_LIMIT_DEG: Mapping[Sensitivity, float] = {"low": 25.0, "medium": 18.0, "high": 12.0}


def _visible(*points: Point) -> bool:
    return all(p.visibility >= MIN_VISIBILITY for p in points)


def _incline_deg(lower: Point, upper: Point) -> float:
    """Angle of the segment lower→upper against the vertical, in degrees (0 = upright)."""
    dx, dy = upper.x - lower.x, lower.y - upper.y
    return math.degrees(math.atan2(abs(dx), max(dy, 1e-9)))


def classify(
    pose: Pose | None, *, sensitivity: Sensitivity = "medium", baseline: Baseline | None = None
) -> Reading:
    """Classify one frame's pose."""
    if pose is None:
        return NO_PERSON
    ls, rs = pose[Landmark.LEFT_SHOULDER], pose[Landmark.RIGHT_SHOULDER]
    if not _visible(ls, rs):
        return Reading(person=True, verdict="unknown", reasons=("no_shoulders",))
    ears = [p for p in (pose[Landmark.LEFT_EAR], pose[Landmark.RIGHT_EAR]) if _visible(p)]
    if not ears:
        return Reading(person=True, verdict="unknown", reasons=("no_head",))
    shoulder = ls if ls.visibility >= rs.visibility else rs
    ear = max(ears, key=lambda p: p.visibility)
    neck = _incline_deg(shoulder, ear)
    measures = {"neck_deg": round(neck, 1)}
    reasons: list[str] = []
    limit = NECK_LIMIT_DEG[sensitivity]
    if baseline is not None and "neck_deg" in baseline.measures:
        limit += baseline.measures["neck_deg"]
    if neck > limit:
        reasons.append("forward_head")
    confidence = min(ls.visibility, rs.visibility, ear.visibility)
    return Reading(
        person=True,
        verdict="bad" if reasons else "good",
        reasons=tuple(reasons),
        view="unknown",
        measures=measures,
        confidence=round(confidence, 3),
    )
