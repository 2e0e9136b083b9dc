"""The alert timer: sustained bad posture becomes alerts, with a grace period for short interruptions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from edge_node.vocabulary import Posture

AlertKind = Literal["posture_alert", "posture_corrected", "alert_cleared"]


@dataclass(frozen=True)
class AlertOutcome:
    """What the alert timer decided on one step."""

    kind: AlertKind
    bad_s: float
    alerts: int
    episode_s: float
    interrupted_by: str | None = None


@dataclass
class AlertTimer:
    """Sustained bad posture → alerts. Pure: the caller says how long was spent in which posture.

    Only bad time counts. An interruption (good, away, paused, unknown) shorter than `grace_s` keeps
    the timer; a longer one ends the episode. The first alert comes at `alert_s` of bad time, then one
    every `cooldown_s` of bad time while bad persists. Good posture after an alert is a correction.
    """

    alert_s: float
    grace_s: float
    cooldown_s: float
    bad_s: float = 0.0
    gap_s: float = 0.0
    alerts: int = 0
    next_at: float = 0.0
    started_at: float = 0.0
    awaiting_correction: bool = False

    def reset(self) -> None:
        """End the episode: no bad time, no alerts, nothing to correct."""
        self.bad_s = self.gap_s = 0.0
        self.alerts = 0
        self.awaiting_correction = False

    def held_for(self, gap_s: float) -> bool:
        """Whether an interruption of `gap_s` keeps the episode."""
        return gap_s < self.grace_s or gap_s <= 0

    def step(self, spent: Posture, dt: float, current: Posture, now: float) -> list[AlertOutcome]:
        """`dt` seconds were spent in `spent`, ending at `now`; the posture is now `current`."""
        outcomes: list[AlertOutcome] = []
        if spent == "bad" and dt > 0:
            if self.bad_s == 0:
                self.started_at = now - dt
            self.bad_s += dt
            self.gap_s = 0.0
        elif self.bad_s > 0 and dt > 0:
            self.gap_s += dt
            if not self.held_for(self.gap_s):
                if self.awaiting_correction:
                    outcomes.append(self._outcome("alert_cleared", now, interrupted_by=spent))
                self.reset()
        if current == "bad" and self.bad_s > 0 and self.bad_s >= self.threshold():
            threshold = self.threshold()
            self.alerts += 1
            self.next_at = threshold + self.cooldown_s
            if self.next_at <= self.bad_s:  # the posture was not bad when the threshold passed
                self.next_at = self.bad_s + self.cooldown_s
            self.awaiting_correction = True
            outcomes.append(self._outcome("posture_alert", now))
        if current == "good" and self.awaiting_correction:
            self.awaiting_correction = False
            outcomes.append(self._outcome("posture_corrected", now))
        return outcomes

    def threshold(self) -> float:
        """Bad seconds at which the next alert fires."""
        return self.alert_s if self.alerts == 0 else self.next_at

    def _outcome(self, kind: AlertKind, now: float, interrupted_by: str | None = None) -> AlertOutcome:
        return AlertOutcome(
            kind, round(self.bad_s, 1), self.alerts, round(now - self.started_at, 1), interrupted_by
        )
