"""Alerts, daily statistics and history (placeholder: in-memory totals until the stats store lands)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from edge_node.config import AlertsConfig, StatsConfig
from edge_node.payloads import DayTotals, Event, History, Posture


class Tracker:
    """Turns the published posture over time into totals, alerts and history."""

    def __init__(self, *, node_id: str, alerts: AlertsConfig, stats: StatsConfig, data_dir: Path) -> None:
        self._node_id = node_id
        self._alerts = alerts
        self._stats = stats
        self._seconds: dict[str, float] = {}
        self._last: tuple[Posture, float] | None = None
        self._bad_since: float | None = None

    def set_alert_minutes(self, minutes: float) -> None:
        self._alerts = self._alerts.model_copy(update={"alert_minutes": minutes})

    def observe(self, posture: Posture, now: float) -> list[Event]:
        """Account the time since the last call to the previous posture; return events to publish."""
        if self._last is not None:
            previous, at = self._last
            self._seconds[previous] = self._seconds.get(previous, 0.0) + max(0.0, now - at)
        self._last = (posture, now)
        if posture == "bad":
            self._bad_since = self._bad_since or now
        else:
            self._bad_since = None
        return []

    def bad_for_s(self, now: float) -> float:
        return round(now - self._bad_since, 1) if self._bad_since else 0.0

    def today(self, now: float) -> DayTotals:
        good, bad = self._seconds.get("good", 0.0), self._seconds.get("bad", 0.0)
        return DayTotals(
            date=datetime.fromtimestamp(now).date().isoformat(),
            good_s=round(good, 1),
            bad_s=round(bad, 1),
            away_s=round(self._seconds.get("away", 0.0), 1),
            paused_s=round(self._seconds.get("paused", 0.0), 1),
            unknown_s=round(self._seconds.get("unknown", 0.0), 1),
            score=round(100 * good / (good + bad), 1) if good + bad > 0 else None,
        )

    def history(self, now: float) -> History:
        return History(
            node=self._node_id,
            days=(self.today(now),),
            trend="unknown",
            trend_rule="not enough days",
            goal=self._stats.goal,
            ts=now,
        )

    def close(self, now: float | None = None) -> None:
        self.observe(self._last[0] if self._last else "unknown", now or time.time())
