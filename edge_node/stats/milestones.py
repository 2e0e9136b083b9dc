"""Finished days and good stretches become streaks and achievements (with their events).

A day is closed once, the first time the tracker sees a later day (also at start, for days the node
was not running at the end of): a counted day at or above the goal extends the streak, one below ends it.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Final

from edge_node.payloads import Event
from edge_node.stats import texts
from edge_node.stats.ledger import Ledger
from edge_node.stats.rules import (
    META_FINALIZED,
    META_STREAK_DAYS,
    META_STREAK_THROUGH,
    is_counted,
    next_streak,
    score,
)
from edge_node.stats.store import Achievement
from edge_node.vocabulary import Posture

log = logging.getLogger(__name__)

ALERT_FREE_DAY_S: Final = 4 * 3600.0
GOOD_HOUR_S: Final = 3600.0
STREAK_MILESTONES: Final = (3, 7, 30)


class Milestones:
    """Closes finished days (streaks) and awards achievements, once each, into the ledger."""

    def __init__(self, node_id: str, ledger: Ledger, *, goal: float) -> None:
        self._node_id = node_id
        self._ledger = ledger
        self._goal = goal
        self._good_run_s = 0.0

    @property
    def streak_days(self) -> int:
        """Consecutive counted days at or above the goal, through the last finished day."""
        return int(self._ledger.meta(META_STREAK_DAYS, "0"))

    def close_days_before(self, today: date, now: float, events: list[Event]) -> bool:
        """Close every day after the last closed one and before `today`; True if any was counted."""
        done = self._ledger.meta(META_FINALIZED)
        counted = False
        for day in [d for d in self._ledger.days if done < d < today.isoformat()]:
            counted |= self._close(day, now, events)
            done = day
        if done > self._ledger.meta(META_FINALIZED):
            self._ledger.set_meta(META_FINALIZED, done)
        return counted

    def _close(self, day: str, now: float, events: list[Event]) -> bool:
        record = self._ledger.record(day)
        if not is_counted(record):
            return False
        before = self.streak_days
        after = next_streak(before, record, self._goal)
        self._ledger.set_meta(META_STREAK_DAYS, str(after))
        self._ledger.set_meta(META_STREAK_THROUGH, day)
        streak = texts.streak_event(
            self._node_id,
            day,
            score(record.good_s, record.bad_s),
            self._goal,
            before=before,
            after=after,
            now=now,
        )
        if streak is not None:
            events.append(streak)
        finished = date.fromisoformat(day)
        if after > 0:
            self.award("first_goal_day", finished, now, events)
            for milestone in STREAK_MILESTONES:
                if after >= milestone:
                    self.award(f"streak_{milestone}", finished, now, events)
        if record.alerts == 0 and record.good_s + record.bad_s >= ALERT_FREE_DAY_S:
            self.award("alert_free_day", finished, now, events)
        return True

    def spent(self, posture: Posture, seconds: float, day: date, now: float, events: list[Event]) -> None:
        """Time spent in a posture: an hour of good without a bad moment is an achievement."""
        if posture == "bad" and seconds > 0:
            self._good_run_s = 0.0
        elif posture == "good":
            self._good_run_s += seconds
            if self._good_run_s >= GOOD_HOUR_S:
                self.award("good_hour", day, now, events)

    def award(self, achievement: str, day: date, now: float, events: list[Event]) -> None:
        """Award an achievement unless it was awarded before."""
        award = Achievement(achievement, texts.ACHIEVEMENTS[achievement], day.isoformat(), now)
        if self._ledger.award(award):
            log.info("achievement: %s (%s)", award.title, day)
            events.append(texts.achievement_event(self._node_id, award, now))
