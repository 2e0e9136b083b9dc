"""Debounce per-frame readings into the published posture (pure; the caller passes time in)."""

from __future__ import annotations

from dataclasses import dataclass

from edge_node.payloads import Posture
from edge_node.posture import Reading


@dataclass(frozen=True)
class SteadyConfig:
    """How long a new verdict must hold before it is published."""

    bad_after_s: float = 3.0
    good_after_s: float = 1.5
    away_after_s: float = 10.0
    unknown_after_s: float = 3.0


class Steadier:
    """Hysteresis: the published posture changes only when a new verdict holds long enough."""

    def __init__(self, config: SteadyConfig, now: float) -> None:
        self._config = config
        self.posture: Posture = "unknown"
        self.since = now
        self.reading: Reading | None = None
        self.present = False
        self._candidate: Posture | None = None
        self._candidate_since = now

    def _hold_for(self, posture: Posture) -> float:
        cfg = self._config
        return {"bad": cfg.bad_after_s, "good": cfg.good_after_s, "away": cfg.away_after_s}.get(
            posture, cfg.unknown_after_s
        )

    def update(self, reading: Reading, ts: float) -> bool:
        """Feed one frame's reading; return True when the published posture changed."""
        observed: Posture = reading.verdict if reading.person else "away"
        if reading.person:
            self.reading = reading
        if observed == self.posture:
            self._candidate = None
            if reading.person:
                self.present = True
            return False
        if observed != self._candidate:
            self._candidate, self._candidate_since = observed, ts
        if ts - self._candidate_since < self._hold_for(observed):
            return False
        return self.force(observed, ts, reading)

    def force(self, posture: Posture, ts: float, reading: Reading | None = None) -> bool:
        """Publish `posture` now (camera lost, paused, resumed); return True if it changed."""
        self._candidate = None
        self.reading = reading
        self.present = bool(reading and reading.person)
        if posture == self.posture:
            return False
        self.posture, self.since = posture, ts
        return True
