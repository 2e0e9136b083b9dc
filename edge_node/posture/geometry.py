"""Pure posture classification: landmarks in, a per-frame reading out.

No cv2, mediapipe, paho, logging set-up or globals here. The per-frame reading is debounced into
the published posture by `edge_node.posture.steadiness`. docs/posture.md explains the method and every limit.

Two camera placements are handled, told apart by the landmarks themselves:

- **side**: the shoulder line points at the camera. Measured: neck inclination (ear over shoulder
  against vertical) and torso inclination (shoulder over hip against vertical), both signed so that
  forward is positive, using the direction the face points.
- **front** (webcam on the monitor): measured: how high the nose sits above the shoulder line and how
  wide the head looks, both in shoulder widths (a forward head drops and comes nearer the camera),
  lateral trunk lean, sideways head tilt and shoulder tilt.

A landmark below `MIN_VISIBILITY`, or outside the picture, is not used (never guessed). A reading
whose view does not allow a verdict is `unknown` with a reason saying what is missing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge_node.posture import confidence, plausibility
from edge_node.posture.plausibility import CHECK_TEXT
from edge_node.posture.seen import Seen
from edge_node.vision.landmarks import Landmark, PictureStats, Point, Pose
from edge_node.vocabulary import Sensitivity, View

Verdict = Literal["good", "bad", "unknown"]

# The measure that carries the camera.rotation a turned picture would need.
ROTATION_FIT = "rotation_fit_deg"
# Front-view measures that lean on the shoulder line's tilt, and the share of the torso (shoulders to
# hips) a picture must show for that line to be judged without a calibration: all of it.
SHOULDER_LINE_MEASURES = frozenset({"shoulder_tilt_deg", "neck_side_deg", "lean_deg"})
SHOULDER_LINE_TORSO = 1.0

# ----------------------------------------------------------------------------- tunables (see docs/posture.md)

# The shoulder line turned more than this away from the image plane (from MediaPipe's z) = side view.
SIDE_VIEW_YAW_DEG = 45.0
# Head width is judged against shoulder width only while the shoulders face the camera: turned by
# more than 25°, the picture shows the shoulders over 10 % narrower (cos 25° = 0.906), which alone
# would read as a head 10 % nearer.
FACE_WIDTH_MAX_YAW_DEG = 25.0

# Low and high sensitivity are the medium limit moved by a fixed step unless a source is named.

# Side view, neck inclination (ear over shoulder against vertical, forward positive). Medium: the
# ISO 11226 / EN 1005-4 neutral zone for forward head inclination ends at 25°. High: RULA scores
# neck flexion beyond 20° in its worst band (McAtamney & Corlett 1993). Low: medium + 10°.
NECK_LIMIT_DEG: Mapping[Sensitivity, float] = {"low": 35.0, "medium": 25.0, "high": 20.0}
# The ear-shoulder inclination of an upright sitter (the ear canal sits a little ahead of the shoulder
# joint centre MediaPipe marks; MediaPipe reads 14-15° on the upright side-view photos we have). Used
# to turn the neck limits into front-view ratios and calibrated offsets, not as a limit itself.
UPRIGHT_NECK_DEG = 15.0

# Side view, torso inclination forward (shoulder over hip against vertical). Medium: the ISO 11226 /
# EN 1005-4 neutral zone for trunk flexion is 0-20°, also RULA's 0-20° band. High: medium - 5°.
# Low: medium + 10°, still inside ISO's "moderate" 20-60° band.
SLOUCH_LIMIT_DEG: Mapping[Sensitivity, float] = {"low": 30.0, "medium": 20.0, "high": 15.0}
# Side view, torso reclined backwards. Medium: office workers free to sit as they liked, with no task,
# chose backrests 25° from vertical on average (Gscheidle & Reed 2004); further back than that at a
# desk is "far back". Low: medium + 5°. High: medium - 5°.
RECLINE_LIMIT_DEG: Mapping[Sensitivity, float] = {"low": 30.0, "medium": 25.0, "high": 20.0}

# Front view, sideways: trunk lean (shoulders over hips), head tilt (head roll against the shoulder
# line) and shoulder tilt (a lateral bend tilts the shoulder line by about as much). Medium: ISO 11226 /
# EN 1005-4 treat lateral bending of trunk and head within ±10° as neutral. Low: the middle of ISO's
# "moderate" 10-20° band for the trunk. High: medium - 3°.
LATERAL_LIMIT_DEG: Mapping[Sensitivity, float] = {"low": 15.0, "medium": 10.0, "high": 7.0}

# Front view, anthropometry (approximate adult seated dimensions, as in ANSUR II): the nose sits about
# 17 cm above the shoulder joint centres, which are about 35 cm apart, so an upright nose height is
# ~0.5 shoulder widths; the ears are ~14 cm apart, ~0.4 shoulder widths. These proportions vary by
# roughly 10 % between people, so without calibration the node takes the end of the upright range
# two standard deviations out (0.5 x 0.8 and 0.4 x 1.25) as its reference.
UPRIGHT_HEAD_HEIGHT_LOW = 0.40
UPRIGHT_FACE_WIDTH_HIGH = 0.50
# A forward head pivots about the base of the neck: with the nose ~20 cm from the pivot and the
# camera ~60 cm away (a webcam on a monitor at the 50-100 cm viewing distance OSHA and ANSI/HFES 100
# recommend), the neck limits above become a drop of the nose height and a growth of the head width.
HEAD_PIVOT_CM = 20.0
CAMERA_DISTANCE_CM = 60.0

REASON_TEXT: Mapping[str, str] = {
    "forward_head": "forward head",
    "slouch": "slouching",
    "recline": "leaning far back",
    "lean": "leaning sideways",
    "head_tilt": "head tilted sideways",
    "shoulder_tilt": "shoulders tilted",
    "no_shoulders": "shoulders not in view",
    "no_head": "head not in view",
    "shoulders_cut": "shoulders at the picture's edge: move back or aim the camera lower",
    "shoulders_collapsed": "shoulders in one spot",
    "too_dark": "too dark to judge",
    "rotated": "picture turned",
    "implausible": "pose not plausible",
    "low_confidence": "not sure enough to judge",
    **CHECK_TEXT,
}
# Reasons are always listed in this order, so the same set reads the same.
REASON_ORDER: tuple[str, ...] = tuple(REASON_TEXT)


@dataclass(frozen=True)
class Reading:
    """The verdict on one frame. `verdict` is meaningless when `person` is False."""

    person: bool
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    view: View = "unknown"
    measures: Mapping[str, float] = field(default_factory=dict)
    confidence: float = 0.0
    judged: tuple[str, ...] = ()  # the measures the limits were applied to

    @property
    def reason_text(self) -> str | None:
        """Human words for `reasons`, or None; a turned picture says which rotation fits."""
        words = [REASON_TEXT.get(r, r.replace("_", " ")) for r in self.reasons]
        fits = self.measures.get(ROTATION_FIT)
        if "rotated" in self.reasons and fits is not None:
            words[self.reasons.index("rotated")] = f"picture turned: set camera.rotation to {fits:.0f}"
        return ", ".join(words) or None


NO_PERSON = Reading(person=False, verdict="unknown")


class Baseline(BaseModel):
    """A user's calibrated good posture: the median of each measure over many frames."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: int = 1
    view: View
    measures: dict[str, float]
    spread: dict[str, float] = Field(
        default_factory=dict, description="Median absolute deviation of each measure while calibrating"
    )
    frames: int = Field(0, ge=0)
    created_at: float = 0.0


def ordered_reasons(reasons: Iterable[str]) -> tuple[str, ...]:
    """Reasons without duplicates in `REASON_ORDER` (unknown codes last, sorted)."""
    unique = set(reasons)
    known = [r for r in REASON_ORDER if r in unique]
    return (*known, *sorted(unique - set(REASON_ORDER)))


# ----------------------------------------------------------------------------- geometry


def _mean(points: list[Point]) -> tuple[float, float]:
    return sum(p.x for p in points) / len(points), sum(p.y for p in points) / len(points)


def _line_deg(a: Point, b: Point) -> float:
    """Angle of the line through two points from horizontal, positive when its right end is lower."""
    left, right = (a, b) if a.x <= b.x else (b, a)
    return math.degrees(math.atan2(right.y - left.y, right.x - left.x))


def _incline_deg(dx: float, up: float) -> float:
    """Signed angle of a segment from vertical: `dx` sideways, `up` upwards (image y reversed)."""
    return math.degrees(math.atan2(dx, up))


@dataclass(frozen=True)
class _Measured:
    view: View
    measures: dict[str, float]
    confidence: float
    missing: str | None = None


def _measure(seen: Seen) -> _Measured:
    shoulders = seen.pair(Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    if not shoulders:
        cut = seen.cut(Landmark.LEFT_SHOULDER) or seen.cut(Landmark.RIGHT_SHOULDER)
        return _Measured("unknown", {}, 0.0, "shoulders_cut" if cut else "no_shoulders")
    measures: dict[str, float] = {}
    if len(shoulders) == 2:
        ls, rs = shoulders
        yaw = math.degrees(math.atan2(abs(ls.z - rs.z), abs(ls.x - rs.x)))
        measures["body_yaw_deg"] = round(yaw, 1)
        view: View = "side" if yaw >= SIDE_VIEW_YAW_DEG else "front"
    else:
        view = "side"  # one shoulder hides the other
    if view == "side":
        return _measure_side(seen, shoulders, measures)
    return _measure_front(seen, shoulders, measures)


def _facing(seen: Seen, ear_x: float) -> float | None:
    """+1 when the face points to image right, -1 to the left; None when it cannot be told."""
    nose = seen.pose[Landmark.NOSE]
    if seen.usable(Landmark.NOSE):
        ahead = nose.x - ear_x
    else:
        eyes = seen.pair(Landmark.LEFT_EYE, Landmark.RIGHT_EYE)
        if not eyes:
            return None
        ahead = _mean(eyes)[0] - ear_x
    # The nose tip is ~10 cm ahead of the ear canal; under 1 % of the picture height it is a guess.
    if abs(ahead) < 0.01:
        return None
    return 1.0 if ahead > 0 else -1.0


def _measure_side(seen: Seen, shoulders: list[Point], measures: dict[str, float]) -> _Measured:
    ears = seen.pair(Landmark.LEFT_EAR, Landmark.RIGHT_EAR)
    used = list(shoulders)
    if not ears:
        return _Measured("side", measures, _confidence(used), "no_head")
    ear_x, ear_y = _mean(ears)
    facing = _facing(seen, ear_x)
    if facing is None:
        return _Measured("side", measures, _confidence(used), "no_head")
    used += ears
    sx, sy = _mean(shoulders)
    measures["neck_deg"] = round(_incline_deg(facing * (ear_x - sx), sy - ear_y), 1)
    hips = seen.pair(Landmark.LEFT_HIP, Landmark.RIGHT_HIP)
    if hips:
        hx, hy = _mean(hips)
        measures["torso_deg"] = round(_incline_deg(facing * (sx - hx), hy - sy), 1)
        used += hips
    return _Measured("side", measures, _confidence(used))


def _measure_front(seen: Seen, shoulders: list[Point], measures: dict[str, float]) -> _Measured:
    ls, rs = shoulders
    span = math.hypot(rs.x - ls.x, rs.y - ls.y)
    if span <= 0:
        return _Measured("front", measures, 0.0, "shoulders_collapsed")
    sx, sy = (ls.x + rs.x) / 2, (ls.y + rs.y) / 2
    tilt = _line_deg(ls, rs)
    measures["shoulder_tilt_deg"] = round(tilt, 1)
    used = list(shoulders)
    nose = seen.pose[Landmark.NOSE]
    nose_usable = seen.usable(Landmark.NOSE)
    ears = seen.pair(Landmark.LEFT_EAR, Landmark.RIGHT_EAR)
    if not nose_usable and len(ears) < 2:
        return _Measured("front", measures, _confidence(used), "no_head")
    if nose_usable:
        # Height of the nose above the shoulder line, in shoulder widths.
        measures["head_height_ratio"] = round((sy - nose.y) / span, 3)
        used.append(nose)
    eyes = seen.pair(Landmark.LEFT_EYE, Landmark.RIGHT_EYE)
    roll_pair = ears if len(ears) == 2 else eyes if len(eyes) == 2 else None
    if roll_pair is not None:
        # Sideways head tilt relative to the shoulder line: ISO 11226's lateral neck bending.
        measures["neck_side_deg"] = round(_line_deg(*roll_pair) - tilt, 1)
        used += roll_pair
    if len(ears) == 2:
        low, high = sorted(p.x for p in ears)
        # The ear span shows head size only while the face looks at the camera (nose between ears)
        # and the shoulders face it too.
        square = measures.get("body_yaw_deg", 90.0) <= FACE_WIDTH_MAX_YAW_DEG
        if square and (not nose_usable or low < nose.x < high):
            span_ears = math.hypot(ears[0].x - ears[1].x, ears[0].y - ears[1].y)
            measures["face_width_ratio"] = round(span_ears / span, 3)
    hips = seen.pair(Landmark.LEFT_HIP, Landmark.RIGHT_HIP)
    if len(hips) == 2:
        hx, hy = _mean(hips)
        measures["lean_deg"] = round(_incline_deg(sx - hx, hy - sy), 1)
        used += hips
    return _Measured("front", measures, _confidence(used))


def _confidence(points: list[Point]) -> float:
    return round(min(p.visibility for p in points), 3) if points else 0.0


# ----------------------------------------------------------------------------- limits


def head_drop_factor(neck_limit_deg: float) -> float:
    """Nose height at the neck limit over the upright nose height (head pivoting at the neck base)."""
    return math.cos(math.radians(neck_limit_deg)) / math.cos(math.radians(UPRIGHT_NECK_DEG))


def face_growth_factor(neck_limit_deg: float) -> float:
    """Apparent head width at the neck limit over the upright width (the head nears the camera)."""
    forward_cm = HEAD_PIVOT_CM * (
        math.sin(math.radians(neck_limit_deg)) - math.sin(math.radians(UPRIGHT_NECK_DEG))
    )
    return CAMERA_DISTANCE_CM / (CAMERA_DISTANCE_CM - forward_cm)


@dataclass(frozen=True)
class Limit:
    """One rule: `measure` beyond `value` (above when `above`, else below) means `reason`."""

    measure: str
    reason: str
    above: bool
    value: float

    def broken(self, measures: Mapping[str, float]) -> bool:
        """True when the measure is present and beyond the limit."""
        if self.measure not in measures:
            return False
        value = measures[self.measure]
        return value > self.value if self.above else value < self.value


def limits(view: View, sensitivity: Sensitivity, baseline: Baseline | None = None) -> tuple[Limit, ...]:
    """The rules for one view: absolute, or shifted to the user's calibrated good posture."""
    base = baseline.measures if baseline is not None and baseline.view == view else {}
    neck = NECK_LIMIT_DEG[sensitivity]
    if view == "side":
        neck_base = base.get("neck_deg", UPRIGHT_NECK_DEG)
        torso_base = base.get("torso_deg", 0.0)
        return (
            Limit("neck_deg", "forward_head", True, neck_base + neck - UPRIGHT_NECK_DEG),
            Limit("torso_deg", "slouch", True, torso_base + SLOUCH_LIMIT_DEG[sensitivity]),
            Limit("torso_deg", "recline", False, torso_base - RECLINE_LIMIT_DEG[sensitivity]),
        )
    if view == "front":
        lateral = LATERAL_LIMIT_DEG[sensitivity]
        rules = [
            Limit(
                "head_height_ratio",
                "forward_head",
                False,
                base.get("head_height_ratio", UPRIGHT_HEAD_HEIGHT_LOW) * head_drop_factor(neck),
            ),
            Limit(
                "face_width_ratio",
                "forward_head",
                True,
                base.get("face_width_ratio", UPRIGHT_FACE_WIDTH_HIGH) * face_growth_factor(neck),
            ),
        ]
        for measure, reason in (
            ("lean_deg", "lean"),
            ("neck_side_deg", "head_tilt"),
            ("shoulder_tilt_deg", "shoulder_tilt"),
        ):
            centre = base.get(measure, 0.0)
            rules += [
                Limit(measure, reason, True, centre + lateral),
                Limit(measure, reason, False, centre - lateral),
            ]
        return tuple(rules)
    return ()


def judge(
    view: View, measures: Mapping[str, float], sensitivity: Sensitivity, baseline: Baseline | None = None
) -> tuple[str, ...]:
    """The reasons (in `REASON_ORDER`) why these measures are bad; empty when good."""
    return ordered_reasons(
        rule.reason for rule in limits(view, sensitivity, baseline) if rule.broken(measures)
    )


def torso_in_view(seen: Seen) -> float:
    """Share of the torso (shoulders to hips) the picture shows: 1 with the hips usable."""
    if len(seen.pair(Landmark.LEFT_HIP, Landmark.RIGHT_HIP)) == 2:
        return 1.0
    shoulders = seen.pair(Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    if not shoulders or seen.scale is None:
        return 0.0
    below = 1.0 - _mean(shoulders)[1]
    return min(1.0, max(0.0, below / (confidence.TORSO_PER_SHOULDER_WIDTH * seen.scale)))


def _unknown(measured: _Measured, reasons: tuple[str, ...], confidence_: float = 0.0) -> Reading:
    """A reading of a person without a verdict, saying why."""
    return Reading(
        person=True,
        verdict="unknown",
        reasons=reasons,
        view=measured.view,
        measures=measured.measures,
        confidence=confidence_,
    )


def _refused(
    seen: Seen, measured: _Measured, gate: plausibility.Plausibility, rotation: int
) -> Reading | None:
    """The reading when the skeleton cannot be judged at all (turned, implausible, unscaled), else None."""
    if gate.turn_deg:
        fits = {ROTATION_FIT: float((rotation + gate.turn_deg) % 360), **gate.measured}
        return Reading(person=True, verdict="unknown", reasons=("rotated",), measures=fits)
    if gate.failed or measured.missing == "shoulders_collapsed":
        failed = gate.failed or ("shoulders_collapsed",)
        shown = _Measured(measured.view, {**measured.measures, **gate.measured}, 0.0)
        return _unknown(shown, ordered_reasons(("implausible", *failed)))
    if seen.scale is None and measured.missing is None:
        # Neither the head's size nor two shoulders: the proportions cannot be checked, so no verdict.
        return _unknown(measured, ("low_confidence",))
    return None


def _judged_measures(measured: _Measured, torso: float, baseline: Baseline | None) -> Mapping[str, float]:
    """The measures the limits apply to: a front view's shoulder line only with the torso in view."""
    calibrated_here = baseline is not None and baseline.view == measured.view
    if measured.view == "front" and torso < SHOULDER_LINE_TORSO and not calibrated_here:
        # MediaPipe places the shoulders from the torso below them: cut above the hips, a photo's 5°
        # shoulder tilt read 10-12° (measured on crops of the astronaut photo), so the sideways measures
        # built on that line are reported, not judged, until a calibration from this framing absorbs it.
        return {k: v for k, v in measured.measures.items() if k not in SHOULDER_LINE_MEASURES}
    return measured.measures


def classify(
    pose: Pose | None,
    *,
    sensitivity: Sensitivity = "medium",
    baseline: Baseline | None = None,
    picture: PictureStats | None = None,
    rotation: int = 0,
) -> Reading:
    """Classify one frame's pose: the plausibility gate, then the measures, limits and confidence.

    `picture` (the frame's light) and `rotation` (the camera.rotation already applied, for the hint
    a turned picture gets) are optional for callers that have only landmarks.
    """
    if pose is None:
        return NO_PERSON
    if confidence.too_dark(picture):
        assert picture is not None
        light = {"brightness": picture.brightness, "contrast": picture.contrast}
        return Reading(person=True, verdict="unknown", reasons=("too_dark",), measures=light)
    seen = Seen.of(pose)
    measured = _measure(seen)
    gate = plausibility.check(seen, view=measured.view, measures=measured.measures)
    refused = _refused(seen, measured, gate, rotation)
    if refused is not None:
        return refused
    torso = torso_in_view(seen)
    trust = confidence.combine(
        visibility=measured.confidence, margin=gate.margin, torso=torso, picture=picture
    )
    if measured.missing is not None:
        return _unknown(measured, (measured.missing,), trust)
    judged = _judged_measures(measured, torso, baseline)
    reasons = judge(measured.view, judged, sensitivity, baseline)
    if reasons and not gate.verifiable:
        return _unknown(measured, ("low_confidence",), trust)
    reading = Reading(
        person=True,
        verdict="bad" if reasons else "good",
        reasons=reasons,
        view=measured.view,
        measures=measured.measures,
        confidence=trust,
        judged=tuple(judged),
    )
    return confidence.doubtful(reading)
