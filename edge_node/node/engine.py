"""Frame → pose → per-frame reading → steady posture, and the `state` payload that tells it.

The engine owns what the node knows about the scene: the steadier, the latest reading, the capture
time of the frame it came from, and why the state is `unknown` when no reading says.
"""

from __future__ import annotations

from collections import deque
from typing import Final, Protocol

from edge_node.config import PostureConfig
from edge_node.payloads import PostureState
from edge_node.posture.confidence import RECENT_FRAMES, temper
from edge_node.posture.explain import Explanation, explain
from edge_node.posture.geometry import Baseline, Reading, classify
from edge_node.posture.steadiness import Steadier, SteadyConfig, observe
from edge_node.vision.frames import Frame
from edge_node.vision.landmarks import Image
from edge_node.vision.motion import Region, Thumb, change, region_of, thumbnail
from edge_node.vision.pose import Detection
from edge_node.vocabulary import Posture, Sensitivity

STARTING_CAMERA: Final = "starting camera"  # state.reason until the camera delivers (start, resume)
CHECKING: Final = "checking posture"
NOBODY: Final = "no person in view"
PAUSED: Final = "monitoring is off"


class Estimator(Protocol):
    """What the engine needs from pose detection."""

    model_name: str

    def detect(self, image_bgr: Image) -> Detection:
        """The pose in a BGR image (or none) and what it cost."""


def steady_config(posture: PostureConfig) -> SteadyConfig:
    """The steadier's hold times from the config."""
    return SteadyConfig(
        bad_after_s=posture.bad_after_s,
        good_after_s=posture.good_after_s,
        away_after_s=posture.away_after_s,
        unknown_after_s=posture.unknown_after_s,
    )


class PostureEngine:
    """Judges frames and keeps the steady posture; builds the `state` payload from it."""

    def __init__(self, posture: PostureConfig, estimator: Estimator, now: float) -> None:
        self._estimator = estimator
        self.steady = Steadier(steady_config(posture), now)
        self.last_reading: Reading | None = None
        self._recent: deque[Reading] = deque(maxlen=RECENT_FRAMES)
        self.last_detection: Detection | None = None
        self.last_frame_ts: float | None = None
        self.unknown_reason: str | None = STARTING_CAMERA
        self._reference: Thumb | None = None  # the last judged frame, for the scene-change gate
        self._region = Region.everything()
        self._thumb: Thumb | None = None

    def explain(self, *, sensitivity: Sensitivity, baseline: Baseline | None) -> Explanation | None:
        """The last frame's skeleton and measure lines, or None with nobody in view."""
        detection, reading = self.last_detection, self.last_reading
        if detection is None or detection.pose is None or reading is None or not reading.person:
            return None
        return explain(detection.pose, reading, sensitivity=sensitivity, baseline=baseline)

    @property
    def posture(self) -> Posture:
        """The published (steady) posture."""
        return self.steady.posture

    def look(self, frame: Frame) -> float | None:
        """The gate's score for this frame against the last judged one (None: nothing to compare)."""
        self._thumb = thumbnail(frame.image)
        if self._reference is None:
            return None
        return change(self._reference, self._thumb, self._region)

    @property
    def steady_now(self) -> bool:
        """The last reading agrees with the published posture (no change is building up)."""
        reading = self.last_reading
        return reading is not None and observe(reading) == self.steady.posture

    def hold(self, frame: Frame) -> Reading | None:
        """A frame the model skips: the scene is as it was, so the last reading stands for it too."""
        reading = self.last_reading
        if reading is None:
            return None
        self.last_frame_ts = frame.ts
        self.steady.update(reading, frame.ts)
        return reading

    def judge(
        self, frame: Frame, *, sensitivity: Sensitivity, baseline: Baseline | None, rotation: int = 0
    ) -> Reading:
        """Run pose and posture on one (upright) frame, temper it by the recent ones, feed the steadier."""
        detection = self._estimator.detect(frame.image)
        raw = classify(
            detection.pose,
            sensitivity=sensitivity,
            baseline=baseline,
            picture=detection.picture,
            rotation=rotation,
        )
        reading = temper(raw, self._recent)
        self._recent.append(raw)
        self._reference = self._thumb if self._thumb is not None else thumbnail(frame.image)
        self._region = region_of(detection.pose)
        self.last_detection = detection
        self.last_reading = reading
        self.last_frame_ts = frame.ts
        self.unknown_reason = CHECKING if reading.person else NOBODY
        self.steady.update(reading, frame.ts)
        return reading

    def force(self, posture: Posture, now: float, *, reason: str | None = None) -> None:
        """Publish `posture` from now on, forgetting the evidence (camera lost, paused, resumed)."""
        if reason is not None:
            self.unknown_reason = reason
        self.last_reading = None
        self._recent.clear()
        self._reference = None
        self.steady.force(posture, now)

    def state(
        self, now: float, *, node_id: str, bad_for_s: float, calibrated: bool, sensitivity: Sensitivity
    ) -> PostureState:
        """The `state` payload (seq 0: the publisher numbers what it sends)."""
        posture = self.steady.posture
        steady_reading = self.steady.reading
        latest = self.last_reading
        reasons: tuple[str, ...] = ()
        if posture == "paused":
            reason: str | None = PAUSED
        elif posture in ("bad", "unknown") and steady_reading is not None and steady_reading.reasons:
            reasons = steady_reading.reasons
            reason = steady_reading.reason_text
        elif posture == "unknown":
            reason = self.unknown_reason
        else:
            reason = None
        measured = (
            latest if posture not in ("paused", "away") and latest is not None and latest.person else None
        )
        return PostureState(
            node=node_id,
            posture=posture,
            present=posture in ("good", "bad") or (posture == "unknown" and self.steady.present),
            reason=reason,
            reasons=reasons,
            view=measured.view if measured else "unknown",
            measures=dict(measured.measures) if measured else {},
            confidence=measured.confidence if measured else 0.0,
            since=self.steady.since,
            bad_for_s=bad_for_s,
            calibrated=calibrated,
            calibration_recommended=not calibrated and measured is not None and measured.view == "front",
            sensitivity=sensitivity,
            seq=0,
            ts=now,
            frame_ts=self.last_frame_ts if posture != "paused" else None,
        )
