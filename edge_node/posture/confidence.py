"""How far a reading can be trusted, from what can be measured, and what a low trust does (pure).

MediaPipe's visibility is near 1.0 even for points it extrapolates, so it cannot be the confidence
on its own. A reading's confidence is the product of:

- **landmarks**: the lowest visibility among the landmarks the measures used;
- **plausibility**: how far the skeleton is from the nearest limit of a body's range
  (`edge_node.posture.plausibility`): full while every measure is in the inner half of its range
  (a clear slump is far from anything a body cannot do), falling to half at a limit;
- **torso in view**: the share of the torso (shoulders to hips, about 1.3 shoulder widths in adults,
  ANSUR II) the picture shows below the shoulders; a head-and-shoulders picture keeps 0.6;
- **picture**: the luma's contrast; at 16 grey levels of standard deviation or more (a properly
  exposed indoor frame) it counts fully, down to 0.6 at the "too dark" limit;
- **stability** (over the last 5 frames, applied by `temper`): the share of recent readings of the
  person that agree with this one's verdict; for `bad` that share itself, for `good` half of it plus
  one half. A landmark jittering across a limit for a frame or two is not a slouch.

A picture with a luma contrast under 4 grey levels, or a mean under 8, is **too dark to judge**: a
webcam's sensor noise in a dim room is 2-4 levels, so detail at that level cannot be told from
noise. A dim picture above those limits that MediaPipe still reads keeps its verdict.

Asymmetric costs: a `bad` reading needs a confidence of at least 0.5, with most of the last frames
agreeing; `good` needs 0.3. A reading
below its floor becomes `unknown` ("not sure enough to judge"), which the steadier does not publish
until it has lasted `unknown_after_s`, so a few doubtful frames hold the published state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Final

from edge_node.vision.landmarks import PictureStats

if TYPE_CHECKING:
    from edge_node.posture.geometry import Reading

TOO_DARK_CONTRAST: Final = 4.0
TOO_DARK_BRIGHTNESS: Final = 8.0
FULL_CONTRAST: Final = 16.0
TORSO_PER_SHOULDER_WIDTH: Final = 1.3
FLOOR: Final = 0.6  # the factor at the worst torso view / contrast that is still judged
BAD_MIN: Final = 0.5
GOOD_MIN: Final = 0.3
RECENT_FRAMES: Final = 5


def too_dark(picture: PictureStats | None) -> bool:
    """Too little light or detail to tell a person's posture from sensor noise."""
    if picture is None:
        return False
    return picture.contrast < TOO_DARK_CONTRAST or picture.brightness < TOO_DARK_BRIGHTNESS


def _ramp(value: float, low: float, high: float) -> float:
    """0 at `low`, 1 at `high`, linear between, clipped."""
    if high <= low:
        return 1.0
    return min(1.0, max(0.0, (value - low) / (high - low)))


def combine(*, visibility: float, margin: float, torso: float, picture: PictureStats | None) -> float:
    """The per-frame confidence from its factors (each 0..1)."""
    contrast = 1.0 if picture is None else _ramp(picture.contrast, TOO_DARK_CONTRAST, FULL_CONTRAST)
    factors = (
        visibility,
        0.5 + 0.5 * min(1.0, 2 * margin),
        FLOOR + (1 - FLOOR) * torso,
        FLOOR + (1 - FLOOR) * contrast,
    )
    product = 1.0
    for factor in factors:
        product *= max(0.0, min(1.0, factor))
    return round(product, 3)


def floor_for(verdict: str) -> float:
    """The confidence a verdict needs to stand."""
    return BAD_MIN if verdict == "bad" else GOOD_MIN if verdict == "good" else 0.0


def doubtful(reading: Reading) -> Reading:
    """The reading itself if its confidence suffices for its verdict, else `unknown` (low confidence)."""
    if reading.verdict not in ("good", "bad") or reading.confidence >= floor_for(reading.verdict):
        return reading
    return replace(reading, verdict="unknown", reasons=("low_confidence",))


def temper(reading: Reading, recent: Sequence[Reading]) -> Reading:
    """Scale the confidence by how many of the recent readings of the person agree, then apply the floor.

    `recent` are the untempered readings of the frames before this one, newest last.
    """
    judged = [r for r in recent if r.person and r.verdict in ("good", "bad")]
    if not reading.person or reading.verdict not in ("good", "bad"):
        return doubtful(reading)
    # With nothing to compare yet, a first frame's `bad` stands alone: no agreement.
    agree = sum(r.verdict == reading.verdict for r in judged) / len(judged) if judged else 0.0
    # Asymmetric: `bad` needs most recent readings to agree (a landmark's jitter near a limit is not a
    # slouch); `good` only loses up to half its confidence to disagreement.
    stability = agree if reading.verdict == "bad" else 0.5 + 0.5 * agree
    return doubtful(replace(reading, confidence=round(reading.confidence * stability, 3)))
