"""Could a seated or standing human have this skeleton? Checked before any verdict (pure).

MediaPipe returns a full skeleton whenever it thinks it sees a person, also one no body can have: on
a picture turned 90° or 180° a person sitting well comes back with the head beside or below the
shoulders, and a laptop webcam that cuts the body at the chest can get shoulders above the nose.
Geometry on such a skeleton reads as a wild lean or slump. A skeleton that fails a check is
`unknown` ("pose not plausible", with the check's code), never `bad`.

Each limit is a body's range, not a posture rule (docs/posture.md, section 1b, has the table):

- The face's up direction (mouth to eyes) is within 45° of the picture's up. The camera can only be
  mounted in steps of 90°, so the nearest step is the one that fits; a face turned further than 45°
  means the picture is turned, and which `camera.rotation` would make it upright is reported.
- The head is above the shoulder line and the shoulders above the hips (anatomy: the head sits on the
  neck; at the neck's full flexion, 45-50° (AAOS norms), the nose stays above the shoulders), at a
  body's distances: head centre 0.2-1.2 shoulder widths from the shoulder centre (about 0.5 in
  adults), hips 0.5-2.0 from it (about 1.3, ANSUR II; a torso leaning towards the camera looks
  shorter); in a side view the two shoulders within 0.8 shoulder widths of each other in the picture.
- Neck (side view, ear over shoulder): forward up to 90° (the ear stays above the shoulder), back to
  70° (cervical extension 60-70°, AAOS).
- Trunk: forward up to 90° (the shoulders above the hips), back to 60° (a reclined backrest, 45° from
  vertical, plus the spine's extension, 25°); sideways 40° (lateral flexion of the spine, 35°, AAOS).
- Shoulder line tilted up to 45° (the trunk's 35° sideways plus shoulder elevation), head rolled
  against the shoulders up to 55° (cervical lateral flexion, 45°, AAOS).
- Face: the nose between the eyes and the mouth along the face; from the front, each eye nearer
  its own ear than the other's, the nose between the ears (within half the ear span beyond either)
  and at about their height (within one ear span); the head (ear span) 0.2-0.9 of the shoulder
  width: 0.37 in adults (ANSUR II), up to 1.4 times larger when the head is nearer the camera than
  the shoulders (a laptop at 40 cm, the head 15 cm forward) and up to 1/cos 45° when the shoulders
  are turned; 0.2 at the other end, a head much further than the shoulders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

from edge_node.posture.seen import Seen, distance
from edge_node.vision.landmarks import Landmark, Point

FACE_TURN_LIMIT_DEG: Final = 45.0
NECK_BACK_MAX_DEG: Final = 70.0
NECK_FORWARD_MAX_DEG: Final = 90.0
TRUNK_FORWARD_MAX_DEG: Final = 90.0
TRUNK_BACK_MAX_DEG: Final = 60.0
TRUNK_SIDEWAYS_MAX_DEG: Final = 40.0
SHOULDER_TILT_MAX_DEG: Final = 45.0
HEAD_ROLL_MAX_DEG: Final = 55.0
NOSE_BEYOND_EARS: Final = 0.5  # ear spans
NOSE_FROM_EAR_HEIGHT: Final = 1.0  # ear spans
HEAD_PER_SHOULDERS: Final = (0.2, 0.9)
# An upright adult's head centre about 0.5 shoulder widths above the shoulder line, hips about 1.3 below
# (ANSUR II proportions): the margins of the one-sided checks are measured against these.
UPRIGHT_HEAD: Final = 0.5
UPRIGHT_TORSO: Final = 1.3
# Distances in shoulder widths that a body keeps whatever it does: head centre to shoulder centre
# (the neck, ~0.5) and shoulders to hips (the torso, ~1.3). The bounds allow a head twice as near or far
# as the shoulders seen from the front, and a torso leaning towards the camera (foreshortened to 40 %).
NECK_LENGTH: Final = (0.2, 1.2)
TORSO_LENGTH: Final = (0.5, 2.0)
# In a side view the shoulders overlap: turned past 45° their span in the picture is at most cos 45°
# of the shoulder width (plus landmark noise).
SIDE_SHOULDER_SPAN_MAX: Final = 0.8

CHECK_TEXT: Final = {
    "head_below_shoulders": "head not above the shoulders",
    "hips_above_shoulders": "hips not below the shoulders",
    "trunk_beyond_range": "trunk bent further than a spine can",
    "neck_beyond_range": "neck bent further than a neck can",
    "neck_length": "head too near or too far from the shoulders",
    "torso_length": "hips too near or too far from the shoulders",
    "side_shoulders": "shoulders too far apart for a side view",
    "shoulders_beyond_range": "shoulder line tilted further than a body can",
    "head_roll_beyond_range": "head rolled further than a neck can",
    "face_apart": "nose and ears not where a face has them",
    "face_order": "eyes, nose and mouth not in a face's order",
    "sides_crossed": "left and right do not match",
    "head_size": "head and shoulders out of proportion",
}


@dataclass(frozen=True)
class Plausibility:
    """The checks a skeleton failed, how close it came to the nearest limit, and a turn that would fit."""

    failed: tuple[str, ...] = ()
    margin: float = 1.0  # 0 at a limit, 1 well inside every range
    turn_deg: int = 0  # clockwise turn that makes the picture upright (0: it is)
    measured: dict[str, float] = field(default_factory=dict)

    @property
    def verifiable(self) -> bool:
        """Enough was in view to check the skeleton: the face's order and the head's place on the body.

        MediaPipe sees eyes, nose and mouth on any real face turned to the camera or in profile; a
        skeleton without them cannot be told from a wrong one, so it may never be called bad.
        """
        return {"nose_between_mouth_and_eyes", "head_from_shoulders"} <= set(self.measured)

    @property
    def ok(self) -> bool:
        """Nothing failed and the picture is upright."""
        return not self.failed and self.turn_deg == 0


def _mid(points: list[Point]) -> tuple[float, float]:
    return sum(p.x for p in points) / len(points), sum(p.y for p in points) / len(points)


def _from_up(dx: float, dy: float) -> float:
    """Angle of a direction in the picture from the picture's up, degrees (clockwise positive)."""
    return math.degrees(math.atan2(dx, -dy))


def face_up_deg(seen: Seen) -> float | None:
    """The face's up direction (mouth to eyes, else nose to eyes) against the picture's up."""
    eyes = seen.pair(Landmark.LEFT_EYE, Landmark.RIGHT_EYE)
    if not eyes:
        return None
    below = seen.pair(Landmark.MOUTH_LEFT, Landmark.MOUTH_RIGHT)
    if not below and seen.usable(Landmark.NOSE):
        below = [seen.pose[Landmark.NOSE]]
    if not below:
        return None
    (ex, ey), (mx, my) = _mid(eyes), _mid(below)
    if math.hypot(ex - mx, ey - my) == 0:
        return None
    return _from_up(ex - mx, ey - my)


class _Ranges:
    """Collects checks: each value against its allowed range, remembering the tightest margin."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.margin = 1.0
        self.measured: dict[str, float] = {}

    def within(
        self, code: str, name: str, value: float, low: float, high: float, *, ideal: float = 0.0
    ) -> None:
        """Check `low <= value <= high`; the margin is how far the value is from the limit it is heading
        for, as a share of the way from `ideal` (an upright body's value) to that limit."""
        self.measured[name] = round(value, 3)
        if not low <= value <= high:
            self.failed.append(code)
            self.margin = 0.0
            return
        if value >= ideal:
            share = (high - value) / (high - ideal) if math.isfinite(high) and high > ideal else 1.0
        else:
            share = (value - low) / (ideal - low) if math.isfinite(low) and ideal > low else 1.0
        self.margin = min(self.margin, max(0.0, min(1.0, share)))


def check(seen: Seen, *, view: str, measures: dict[str, float]) -> Plausibility:
    """Every check the visible landmarks allow, on the measures the geometry took."""
    face = face_up_deg(seen)
    if face is not None and abs(face) > FACE_TURN_LIMIT_DEG:
        steps = round(face / 90.0) % 4
        return Plausibility(turn_deg=(360 - 90 * steps) % 360, measured={"face_up_deg": round(face, 1)})
    ranges = _Ranges()
    if face is not None:
        # Reported, not a margin: a head bent to the desk is no less plausible (the turn is decided above).
        ranges.measured["face_up_deg"] = round(face, 1)
    _skeleton(seen, ranges)
    _face(seen, ranges)
    if view == "side":
        _side(seen, ranges)
    if view == "side" and "neck_deg" in measures:
        ranges.within(
            "neck_beyond_range", "neck_deg", measures["neck_deg"], -NECK_BACK_MAX_DEG, NECK_FORWARD_MAX_DEG
        )
    if view == "side" and "torso_deg" in measures:
        ranges.within(
            "trunk_beyond_range",
            "torso_deg",
            measures["torso_deg"],
            -TRUNK_BACK_MAX_DEG,
            TRUNK_FORWARD_MAX_DEG,
        )
    if view == "front":
        _front(seen, measures, ranges)
    return Plausibility(tuple(dict.fromkeys(ranges.failed)), round(ranges.margin, 3), 0, ranges.measured)


def _skeleton(seen: Seen, ranges: _Ranges) -> None:
    """Head above the shoulders, shoulders above the hips, and their distances in a body's proportion."""
    shoulders = seen.pair(Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    if not shoulders or seen.scale is None:
        return
    sx, sy = _mid(shoulders)
    head = [seen.pose[lm] for lm in (Landmark.NOSE, Landmark.LEFT_EAR, Landmark.RIGHT_EAR) if seen.usable(lm)]
    if head:
        hx, hy = _mid(head)
        height = (sy - hy) / seen.scale
        ranges.within(
            "head_below_shoulders", "head_above_shoulders", height, 0.0, math.inf, ideal=UPRIGHT_HEAD
        )
        neck = math.hypot(hx - sx, hy - sy) / seen.scale
        ranges.within("neck_length", "head_from_shoulders", neck, *NECK_LENGTH, ideal=UPRIGHT_HEAD)
    hips = seen.pair(Landmark.LEFT_HIP, Landmark.RIGHT_HIP)
    if hips:
        hipx, hipy = _mid(hips)
        depth = (hipy - sy) / seen.scale
        ranges.within(
            "hips_above_shoulders", "hips_below_shoulders", depth, 0.0, math.inf, ideal=UPRIGHT_TORSO
        )
        torso = math.hypot(hipx - sx, hipy - sy) / seen.scale
        ranges.within("torso_length", "hips_from_shoulders", torso, *TORSO_LENGTH, ideal=UPRIGHT_TORSO)


def _side(seen: Seen, ranges: _Ranges) -> None:
    """A side view's shoulders overlap in the picture (their depth said the body is turned)."""
    shoulders = seen.pair(Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    if len(shoulders) == 2 and seen.scale:
        span = math.hypot(shoulders[0].x - shoulders[1].x, shoulders[0].y - shoulders[1].y) / seen.scale
        ranges.within("side_shoulders", "side_shoulder_span", span, 0.0, SIDE_SHOULDER_SPAN_MAX)


def _face(seen: Seen, ranges: _Ranges) -> None:
    """A face's own order: the nose between the eyes and the mouth."""
    eyes = seen.pair(Landmark.LEFT_EYE, Landmark.RIGHT_EYE)
    mouth = seen.pair(Landmark.MOUTH_LEFT, Landmark.MOUTH_RIGHT)
    if eyes and mouth and seen.usable(Landmark.NOSE):
        (ex, ey), (mx, my) = _mid(eyes), _mid(mouth)
        axis = math.hypot(ex - mx, ey - my)
        if axis > 0:
            nose = seen.pose[Landmark.NOSE]
            # Where the nose falls from the mouth (0) to the eyes (1), along the face's up direction.
            along = ((nose.x - mx) * (ex - mx) + (nose.y - my) * (ey - my)) / axis**2
            ranges.within("face_order", "nose_between_mouth_and_eyes", along, 0.0, 1.0, ideal=0.5)


def _front(seen: Seen, measures: dict[str, float], ranges: _Ranges) -> None:
    """The front view's angles within a body's range, and a face that is one."""
    if "lean_deg" in measures:
        limit = TRUNK_SIDEWAYS_MAX_DEG
        ranges.within("trunk_beyond_range", "lean_deg", measures["lean_deg"], -limit, limit)
    if "shoulder_tilt_deg" in measures:
        limit = SHOULDER_TILT_MAX_DEG
        ranges.within(
            "shoulders_beyond_range", "shoulder_tilt_deg", measures["shoulder_tilt_deg"], -limit, limit
        )
    if "neck_side_deg" in measures:
        limit = HEAD_ROLL_MAX_DEG
        ranges.within("head_roll_beyond_range", "neck_side_deg", measures["neck_side_deg"], -limit, limit)
    eyes = seen.pair(Landmark.LEFT_EYE, Landmark.RIGHT_EYE)
    if len(eyes) == 2 and seen.usable(Landmark.LEFT_EAR) and seen.usable(Landmark.RIGHT_EAR):
        left_eye, right_eye = seen.pose[Landmark.LEFT_EYE], seen.pose[Landmark.RIGHT_EYE]
        left_ear, right_ear = seen.pose[Landmark.LEFT_EAR], seen.pose[Landmark.RIGHT_EAR]
        own = distance(left_eye, left_ear) + distance(right_eye, right_ear)
        crossed = distance(left_eye, right_ear) + distance(right_eye, left_ear)
        if own + crossed > 0:
            # 0: each eye at its own ear; 1: each at the other's. A face turned to a profile nears 0.5.
            share = own / (own + crossed)
            ranges.within("sides_crossed", "eyes_to_own_ears", share, 0.0, 0.5, ideal=0.0)
    ears = seen.pair(Landmark.LEFT_EAR, Landmark.RIGHT_EAR)
    shoulders = seen.pair(Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    if len(ears) == 2 and len(shoulders) == 2:
        span_ears = math.hypot(ears[0].x - ears[1].x, ears[0].y - ears[1].y)
        span_shoulders = math.hypot(shoulders[0].x - shoulders[1].x, shoulders[0].y - shoulders[1].y)
        ratio = span_ears / span_shoulders if span_shoulders > 0 else math.inf
        ranges.within("head_size", "head_per_shoulders", ratio, *HEAD_PER_SHOULDERS)
    if len(ears) == 2 and seen.usable(Landmark.NOSE):
        nose = seen.pose[Landmark.NOSE]
        span = math.hypot(ears[0].x - ears[1].x, ears[0].y - ears[1].y)
        if span > 0:
            low, high = sorted(p.x for p in ears)
            beyond = max(low - nose.x, nose.x - high, 0.0) / span
            ranges.within("face_apart", "nose_beyond_ears", beyond, 0.0, NOSE_BEYOND_EARS)
            height = abs(_mid(ears)[1] - nose.y) / span
            ranges.within("face_apart", "nose_from_ear_height", height, 0.0, NOSE_FROM_EAR_HEIGHT)
