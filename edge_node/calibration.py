"""Calibration: record a person's good posture over a few seconds and keep robust statistics (pure)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from edge_node.posture import Baseline, Reading

# At least this share of the calibration frames must show a usable person.
MIN_PERSON_SHARE = 0.6
MIN_FRAMES = 5


class CalibrationRefused(Exception):
    """Calibration could not produce a baseline; the message says why."""


@dataclass
class Calibrator:
    """Collects readings between `started_at` and `started_at + duration_s`."""

    started_at: float
    duration_s: float
    readings: list[Reading] = field(default_factory=list)
    frames_seen: int = 0

    def add(self, reading: Reading) -> None:
        self.frames_seen += 1
        if reading.person and reading.measures:
            self.readings.append(reading)

    def done(self, now: float) -> bool:
        return now - self.started_at >= self.duration_s

    def finish(self, now: float) -> Baseline:
        """The median of each measure; raise CalibrationRefused when nobody (or too little) was seen."""
        if self.frames_seen == 0:
            raise CalibrationRefused("no frames arrived during calibration (is the camera working?)")
        if not self.readings or len(self.readings) < max(MIN_FRAMES, MIN_PERSON_SHARE * self.frames_seen):
            raise CalibrationRefused(
                f"nobody in view: a person was measured in {len(self.readings)} of {self.frames_seen} "
                "frames; "
                "sit in your usual good posture facing the camera and try again"
            )
        views = [r.view for r in self.readings]
        view = max(set(views), key=views.count)
        keys = sorted({k for r in self.readings for k in r.measures})
        measures = {
            key: round(statistics.median(r.measures[key] for r in self.readings if key in r.measures), 4)
            for key in keys
        }
        return Baseline(view=view, measures=measures, frames=len(self.readings), created_at=now)
