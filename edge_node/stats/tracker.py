"""Alerts, daily statistics, streaks, achievements and history, from the published posture over time.

The node calls `Tracker.observe(posture, now)` several times a second. Time since the previous call
is credited to the previous posture on the local day(s) it fell in; the alert timer, the daily
summary and day rollovers are driven from the same call. Totals live in the ledger. Every
`stats.flush_interval_s` the day totals go to the minute journal (one block: a power cut loses at most
that), and every STORE_INTERVAL_S, at a day change, when an achievement or a marker changed, and on
close, everything goes to the SQLite store in one batch; both on the `stats-writer` thread. The rules are
documented in docs/stats.md; the pure ones live in `edge_node.stats.rules`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, timedelta, tzinfo
from datetime import time as clock_time
from pathlib import Path
from typing import Final

from edge_node.config import AlertsConfig, StatsConfig
from edge_node.payloads import DayTotals, Event, History
from edge_node.stats import texts
from edge_node.stats.alerts import AlertTimer
from edge_node.stats.days import DaySplitter, calendar_for
from edge_node.stats.journal import JOURNAL_FILE, MinuteJournal, merge_days
from edge_node.stats.ledger import Ledger
from edge_node.stats.milestones import Milestones
from edge_node.stats.rules import (
    META_FINALIZED,
    META_NODE,
    META_SUMMARY_SENT,
    day_totals,
    trend,
)
from edge_node.stats.store import FILE_NAME, Achievement, DayRecord, StatsStore
from edge_node.stats.writer import StatsWriter
from edge_node.vocabulary import Posture

log = logging.getLogger(__name__)

STORE_INTERVAL_S: Final = 3600.0  # the SQLite store gets a batch at least this often (the journal between)
MAX_GAP_S: Final = 60.0  # longer between two observations: a clock change or a stall, not counted
MIN_VALID_EPOCH: Final = 1_577_836_800.0  # 2020-01-01: earlier means the clock is not set yet (no RTC)
HISTORY_DAYS: Final = 7


class Tracker:
    """Turns the published posture over time into totals, alerts, history, streaks and achievements."""

    def __init__(
        self,
        *,
        node_id: str,
        alerts: AlertsConfig,
        stats: StatsConfig,
        store: StatsStore,
        writer: StatsWriter,
        timezone: str | tzinfo | None = None,
        clock: Callable[[], float] = time.time,
        flush_interval_s: float | None = None,
    ) -> None:
        self._node_id = node_id
        self._stats = stats
        self._clock = clock
        self._flush_interval_s = stats.flush_interval_s if flush_interval_s is None else flush_interval_s
        self.calendar = calendar_for(timezone if timezone is not None else alerts.timezone)
        self._days = DaySplitter(self.calendar)
        self._timer = AlertTimer(
            alert_s=alerts.alert_minutes * 60, grace_s=alerts.grace_s, cooldown_s=alerts.cooldown_minutes * 60
        )
        hour, minute = (int(part) for part in alerts.daily_summary_at.split(":"))
        self._summary_wall = clock_time(hour, minute)
        self.store = store
        self._writer = writer
        self.ledger = Ledger(store.snapshot(), store.generation)
        recovered = recover_journal(self.ledger, writer.journal)
        self._milestones = Milestones(node_id, self.ledger, goal=stats.goal)
        self._dirty: set[str] = set()  # the node publishes both at start anyway
        self._events: list[Event] = []
        self._last: tuple[Posture, float] | None = None
        self._clock_warned = False
        self._closed = False
        now = clock()
        self._today = self.calendar.date_of(now)
        self._last_flush = self._last_store = now
        self.ledger.set_meta(META_NODE, node_id)
        if not self.ledger.has_meta(META_FINALIZED):
            self.ledger.set_meta(META_FINALIZED, (self._today - timedelta(days=1)).isoformat())
        if self._milestones.close_days_before(self._today, now, self._events):
            self._dirty.add("history")
        self._prune(self._today)
        if recovered:
            self._flush(now)  # into the store now: the journal is emptied once it has them
        log.info(
            "stats: %d stored days in %s, time zone %s, today %s",
            len(self.ledger.days),
            "memory" if store.in_memory else store.path,
            self.calendar.name,
            self._today,
        )

    # ------------------------------------------------------------------ the node's interface

    def set_alert_minutes(self, minutes: float) -> None:
        """Change the alert threshold; a running bad streak is measured against the new one."""
        self._timer.alert_s = float(minutes) * 60

    def observe(self, posture: Posture, now: float) -> list[Event]:
        """Account the time since the last call to the previous posture; return events to publish."""
        events, self._events = self._events, []
        if now < MIN_VALID_EPOCH:
            if not self._clock_warned:
                log.warning("the system clock is not set (%s); posture time is not counted until it is", now)
                self._clock_warned = True
            self._last = None
            return events
        if self._last is not None:
            self._spend(self._last, posture, now, events)
        self._last = (posture, now)
        day = self._days.day_of(now)
        if day != self._today:
            self._change_day(day, now, events)
        self._maybe_daily_summary(now, events)
        if now - self._last_flush >= self._flush_interval_s or now < self._last_flush:
            if (
                self.ledger.wants_store(self.store.generation)
                or not 0 <= now - self._last_store < STORE_INTERVAL_S
            ):
                self._flush(now)
            else:
                self._last_flush = now
                self._writer.note(self.ledger.pending_days())
        return events

    def bad_for_s(self, now: float) -> float:
        """The alert timer's bad streak in seconds (held through a short interruption)."""
        timer = self._timer
        if timer.bad_s <= 0 or self._last is None:
            return 0.0
        posture, since = self._last
        elapsed = now - since if 0 <= now - since <= MAX_GAP_S else 0.0
        if posture == "bad":
            return round(timer.bad_s + elapsed, 1)
        return round(timer.bad_s, 1) if timer.held_for(timer.gap_s + elapsed) else 0.0

    def today(self, now: float) -> DayTotals:
        """Today's totals (the local day of `now`)."""
        return day_totals(self.ledger.record(self.calendar.date_of(now).isoformat()))

    def history(self, now: float) -> History:
        """The last 7 days (oldest first, today last), the trend and the streak."""
        today = self.calendar.date_of(now)
        days = tuple(
            day_totals(self.ledger.record((today - timedelta(days=back)).isoformat()))
            for back in range(HISTORY_DAYS - 1, -1, -1)
        )
        verdict, rule = trend(self.ledger.records(), today)
        return History(
            node=self._node_id,
            days=days,
            trend=verdict,
            trend_rule=rule,
            streak_days=self.streak_days,
            goal=self._stats.goal,
            ts=now,
        )

    def take_dirty(self) -> set[str]:
        """What changed since the last call and should be published now: "stats" and/or "history".

        "stats" after a posture change, an alert or a day change; "history" after a day change or a day
        closed at start (the node publishes both at start anyway, so nothing is dirty before).
        """
        dirty, self._dirty = self._dirty, set()
        return dirty

    @property
    def streak_days(self) -> int:
        """Consecutive counted days at or above the goal, through the last finished day."""
        return self._milestones.streak_days

    @property
    def achievements(self) -> dict[str, Achievement]:
        """Every achievement awarded, by id."""
        return self.ledger.achievements

    def flush(self, now: float, *, wait: bool = True, timeout: float = 10.0) -> bool:
        """Hand the current totals to the store now; with `wait`, until they are written."""
        self._flush(now)
        return self._writer.flush(timeout) if wait else True

    def close(self, now: float | None = None) -> None:
        """Account the time up to `now`, write everything and close the store."""
        if self._closed:
            return
        now = self._clock() if now is None else now
        if self._last is not None:
            self.observe(self._last[0], now)
        self._flush(now)
        self._writer.close()
        self.store.close()
        self._closed = True

    # ------------------------------------------------------------------ accounting

    def _spend(self, last: tuple[Posture, float], posture: Posture, now: float, events: list[Event]) -> None:
        """Credit the time since the last observation, run the alert timer, track the good hour."""
        previous, since = last
        dt = now - since
        if 0 <= dt <= MAX_GAP_S:
            for day, seconds in self._days.split(since, now):
                self.ledger.add_seconds(day, previous, seconds)
            events += self._alert_events(previous, dt, posture, now)
            self._milestones.spent(previous, dt, self._days.day_of(now), now, events)
        else:
            log.warning("%+.0f s between two posture observations (clock change or stall): not counted", dt)
            self._timer.reset()
        if posture != previous:
            self._dirty.add("stats")

    def _alert_events(self, spent: Posture, dt: float, current: Posture, now: float) -> list[Event]:
        events = []
        for outcome in self._timer.step(spent, dt, current, now):
            day = self._days.day_of(now)
            if outcome.kind == "posture_alert":
                self.ledger.add_alert(day)
                self._dirty.add("stats")
            events.append(
                texts.alert_event(
                    self._node_id,
                    outcome,
                    now,
                    alert_s=self._timer.alert_s,
                    cooldown_s=self._timer.cooldown_s,
                    grace_s=self._timer.grace_s,
                    alerts_today=self.ledger.record(day.isoformat()).alerts,
                )
            )
        return events

    # ------------------------------------------------------------------ days

    def _change_day(self, day: date, now: float, events: list[Event]) -> None:
        previous, self._today = self._today, day
        log.info("stats: local day is now %s (was %s)", day, previous)
        self._dirty |= {"stats", "history"}
        self._milestones.close_days_before(day, now, events)
        self._prune(day)
        self._flush(now)

    def _maybe_daily_summary(self, now: float, events: list[Event]) -> None:
        today = self._today.isoformat()
        if self.ledger.meta(META_SUMMARY_SENT) >= today:
            return
        if now < self.calendar.at(self._today, self._summary_wall):
            return
        self.ledger.set_meta(META_SUMMARY_SENT, today)
        record = self.ledger.record(today)
        if record.good_s + record.bad_s <= 0:
            log.info("stats: no desk time today, so no daily summary")
            return
        earlier = self.ledger.last_desk_day(before=today)
        before = day_totals(earlier) if earlier is not None else None
        events.append(
            texts.summary_event(
                self._node_id, record, before, goal=self._stats.goal, streak_days=self.streak_days, now=now
            )
        )

    # ------------------------------------------------------------------ storage

    def _prune(self, today: date) -> None:
        self.ledger.prune((today - timedelta(days=self._stats.retention_days)).isoformat())

    def _flush(self, now: float) -> None:
        self._last_flush = self._last_store = now
        self._writer.submit(self.ledger.take_batch(self.store.generation))


def open_tracker(
    *,
    node_id: str,
    alerts: AlertsConfig,
    stats: StatsConfig,
    data_dir: Path | None,
    timezone: str | tzinfo | None = None,
    clock: Callable[[], float] = time.time,
    flush_interval_s: float | None = None,
    background_writes: bool = True,
) -> Tracker:
    """A tracker on `<data_dir>/stats.sqlite3` (in memory without a data dir) with its writer thread."""
    store = StatsStore(data_dir / FILE_NAME if data_dir is not None else None, clock=clock)
    journal = MinuteJournal(data_dir / JOURNAL_FILE) if data_dir is not None else None
    writer = StatsWriter(store, journal=journal, background=background_writes)
    return Tracker(
        node_id=node_id,
        alerts=alerts,
        stats=stats,
        store=store,
        writer=writer,
        timezone=timezone,
        clock=clock,
        flush_interval_s=flush_interval_s,
    )


def recover_journal(ledger: Ledger, journal: MinuteJournal | None) -> bool:
    """Take the totals a power cut kept only in the minute journal; True if there were any."""
    if journal is None:
        return False
    held = ledger.records()
    newer = merge_days(held, journal.read())
    if newer:
        ledger.absorb(newer)
        added = ", ".join(
            f"{day} +{_seconds(newer[day]) - _seconds(held.get(day, DayRecord(day))):.0f} s"
            for day in sorted(newer)
        )
        log.warning(
            "stats: %s had newer totals than the database (the node was not stopped cleanly): %s",
            journal.where,
            added,
        )
    return bool(newer)


def _seconds(record: DayRecord) -> float:
    """All the seconds of a day, whatever the state."""
    return record.good_s + record.bad_s + record.away_s + record.paused_s + record.unknown_s
