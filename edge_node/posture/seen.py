"""Which landmarks are measured and which are guessed: visibility, the picture's edges, the body's scale.

MediaPipe always returns all 33 landmarks and extrapolates body parts beyond the picture, often with
a visibility near 1.0 (a laptop webcam that cuts the body at the chest gets shoulders anyway). A
landmark is used only when it is visible enough and lies inside the picture by more than the edge
band: the part of the body that locates the joint must be in the picture too, or the joint's place
is the model's guess. Band widths are fractions of the body's own scale (the shoulder width), from
adult proportions (ANSUR II, Gordon et al. 2014, NATICK/TR-15/007, rounded means of men and women):

- a joint centre sits about 5 cm inside the body's outline (bideltoid breadth ≈ 48 cm against
  biacromial breadth ≈ 39 cm: about 4.5 cm a side), so every landmark needs 0.12 shoulder widths of
  picture around it;
- a shoulder is located by the deltoid and the upper arm below it, down to the deltoid's insertion
  about 15 cm below the acromion: a shoulder needs 0.4 shoulder widths of picture below it.

The shoulder width itself is estimated from the head (its size does not depend on where the picture
cuts the shoulders): ear to ear (bitragion breadth ≈ 14 cm, 0.37 of the shoulder width), or nose tip
to ear in a profile (≈ 11 cm, 0.28 of it); a head nearer the camera looks bigger, so the shoulders'
own span (with MediaPipe's depth) caps it when both shoulders are in view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from edge_node.vision.landmarks import Landmark, Point, Pose

# Landmarks below this visibility are not used. 0.5 is MediaPipe's own default confidence cut-off
# (min_detection_confidence / min_tracking_confidence); below it the point is the model's guess.
MIN_VISIBILITY: Final = 0.5

EAR_SPAN_PER_SHOULDER_WIDTH: Final = 0.37
NOSE_EAR_PER_SHOULDER_WIDTH: Final = 0.28
JOINT_INSET: Final = 0.12  # band on every edge, in shoulder widths
SHOULDER_BELOW: Final = 0.4  # band a shoulder needs below it, in shoulder widths

SHOULDERS: Final = (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)


def distance(a: Point, b: Point) -> float:
    """Distance in the picture (isotropic units: picture heights)."""
    return math.hypot(a.x - b.x, a.y - b.y)


def inside(pose: Pose, point: Point) -> bool:
    """Within the picture at all (MediaPipe also reports points beyond its edges)."""
    return 0.0 <= point.y <= 1.0 and 0.0 <= point.x <= pose.width / pose.height


@dataclass(frozen=True)
class Seen:
    """A pose with the rule for which of its landmarks are measured (not guessed)."""

    pose: Pose
    scale: float | None  # the body's shoulder width in picture heights, if it can be told

    @classmethod
    def of(cls, pose: Pose) -> Seen:
        """Estimate the body's scale from the head (else the shoulders) and keep it with the pose."""
        return cls(pose, body_scale(pose))

    def visible(self, landmark: Landmark) -> bool:
        """Visible enough and inside the picture (the edge band not considered)."""
        point = self.pose[landmark]
        return point.visibility >= MIN_VISIBILITY and inside(self.pose, point)

    def cut(self, landmark: Landmark) -> bool:
        """Visible, but inside the edge band: the model placed it without the body around it."""
        return self.visible(landmark) and not self.usable(landmark)

    def usable(self, landmark: Landmark) -> bool:
        """Visible and clear of the edge band."""
        if not self.visible(landmark):
            return False
        if self.scale is None:
            return True
        point = self.pose[landmark]
        band = JOINT_INSET * self.scale
        below = SHOULDER_BELOW * self.scale if landmark in SHOULDERS else band
        right = self.pose.width / self.pose.height
        return band <= point.x <= right - band and band <= point.y <= 1.0 - below

    def pair(self, left: Landmark, right: Landmark) -> list[Point]:
        """The usable points of a left/right pair."""
        return [self.pose[lm] for lm in (left, right) if self.usable(lm)]


def body_scale(pose: Pose) -> float | None:
    """The shoulder width in picture heights: from the head's size when it is in view, else the shoulders."""

    def seen(landmark: Landmark) -> Point | None:
        point = pose[landmark]
        return point if point.visibility >= MIN_VISIBILITY and inside(pose, point) else None

    nose, left_ear, right_ear = seen(Landmark.NOSE), seen(Landmark.LEFT_EAR), seen(Landmark.RIGHT_EAR)
    estimates = []
    if left_ear and right_ear:
        estimates.append(distance(left_ear, right_ear) / EAR_SPAN_PER_SHOULDER_WIDTH)
    for ear in (left_ear, right_ear):
        if nose and ear:
            estimates.append(distance(nose, ear) / NOSE_EAR_PER_SHOULDER_WIDTH)
    from_head = max(estimates) if estimates else None
    left, right = seen(Landmark.LEFT_SHOULDER), seen(Landmark.RIGHT_SHOULDER)
    # A head nearer the camera than the shoulders looks bigger: the shoulders' own span (with depth, so
    # a profile's overlapping shoulders do not count as narrow) caps the estimate.
    from_shoulders = (
        math.hypot(left.x - right.x, left.y - right.y, left.z - right.z) if left and right else None
    )
    candidates = [value for value in (from_head, from_shoulders) if value]
    return min(candidates) if candidates else None
