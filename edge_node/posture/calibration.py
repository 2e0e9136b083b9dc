"""Calibration: record a person's good posture over a few seconds and keep robust statistics (pure).

The baseline is the per-measure median over the frames of the view seen most, with the median
absolute deviation kept as its spread. A calibration is refused, with a message a person can act on,
when nobody (or too little of a body) was in view, when the person moved too much, or when the
recorded posture is itself clearly bad (it would teach the node that a slouch is fine).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from edge_node.errors import EdgeNodeError
from edge_node.posture.geometry import REASON_TEXT, Baseline, Reading, judge
from edge_node.vocabulary import Sensitivity

# At least this share of the calibration frames must show a usable person.
MIN_PERSON_SHARE = 0.6
MIN_FRAMES = 5
# A measure must be in at least this share of the frames of the view to enter the baseline.
MIN_MEASURE_SHARE = 0.5
# Moving more than this (median absolute deviation) means the frames do not show one posture.
MAX_SPREAD_DEG = 6.0
MAX_SPREAD_RATIO = 0.05
# The recorded posture must pass the uncalibrated check at this sensitivity (the most lenient).
SANITY_SENSITIVITY: Sensitivity = "low"
# Informational measures that say where the camera is, not how the person sits.
NOT_POSTURE = frozenset({"body_yaw_deg"})


class CalibrationRefused(EdgeNodeError):
    """Calibration could not produce a baseline; the message says why."""


@dataclass
class Calibrator:
    """Collects readings between `started_at` and `started_at + duration_s`."""

    started_at: float
    duration_s: float
    readings: list[Reading] = field(default_factory=list)
    frames_seen: int = 0
    persons_seen: int = 0
    missing: Counter[str] = field(default_factory=Counter)

    def add(self, reading: Reading) -> None:
        """Count one frame; keep it when it measured a person's posture."""
        self.frames_seen += 1
        if not reading.person:
            return
        self.persons_seen += 1
        if reading.verdict == "unknown":
            self.missing.update(reading.reasons)
        elif reading.measures:
            self.readings.append(reading)

    def done(self, now: float) -> bool:
        """True once the recording time is over."""
        return now - self.started_at >= self.duration_s

    def finish(self, now: float) -> Baseline:
        """The median of each measure; raise CalibrationRefused when nobody (or too little) was seen."""
        if self.frames_seen == 0:
            raise CalibrationRefused("no frames arrived during calibration (is the camera working?)")
        if self.frames_seen < MIN_FRAMES:
            raise CalibrationRefused(
                f"only {self.frames_seen} frames arrived during calibration, {MIN_FRAMES} are needed "
                "(is the camera stalling?); try again"
            )
        needed = max(MIN_FRAMES, MIN_PERSON_SHARE * self.frames_seen)
        if self.persons_seen < needed:
            raise CalibrationRefused(
                f"nobody in view: a person was seen in {self.persons_seen} of {self.frames_seen} frames; "
                "sit in your usual good posture in front of the camera and try again"
            )
        if len(self.readings) < needed:
            what = (
                REASON_TEXT.get(self.missing.most_common(1)[0][0], "posture") if self.missing else "posture"
            )
            raise CalibrationRefused(
                f"{what}: the posture could be measured in only {len(self.readings)} of "
                f"{self.frames_seen} frames; make sure your head and shoulders are in the picture "
                "and try again"
            )
        views = Counter(r.view for r in self.readings)
        view = views.most_common(1)[0][0]
        chosen = [r for r in self.readings if r.view == view]
        if len(chosen) < needed:
            raise CalibrationRefused(
                f"the camera saw you from changing sides ({dict(views)}); "
                "sit still facing one way and try again"
            )
        measures: dict[str, float] = {}
        spread: dict[str, float] = {}
        for key in sorted({k for r in chosen for k in r.measures}):
            values = [r.measures[key] for r in chosen if key in r.measures]
            if len(values) < MIN_MEASURE_SHARE * len(chosen):
                continue
            median = statistics.median(values)
            measures[key] = round(median, 4)
            spread[key] = round(statistics.median(abs(v - median) for v in values), 4)
        for key, mad in spread.items():
            limit = MAX_SPREAD_DEG if key.endswith("_deg") else MAX_SPREAD_RATIO
            if key not in NOT_POSTURE and mad > limit:
                raise CalibrationRefused(
                    f"you moved during calibration ({key} varied by ±{mad:g}); "
                    "hold your usual good posture still and try again"
                )
        posture = {k: v for k, v in measures.items() if k not in NOT_POSTURE}
        problems = judge(view, posture, SANITY_SENSITIVITY)
        if problems:
            words = ", ".join(REASON_TEXT.get(p, p) for p in problems)
            shown = ", ".join(f"{k} {v:g}" for k, v in posture.items())
            raise CalibrationRefused(
                f"the recorded posture is not a good one ({words}: {shown}); "
                "sit upright the way you want to sit and try again"
            )
        return Baseline(view=view, measures=measures, spread=spread, frames=len(chosen), created_at=now)
