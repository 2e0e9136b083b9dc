"""Alerts, daily statistics, streaks, achievements and history, from the published posture over time.

The node calls `Tracker.observe(posture, now)` several times a second. Time since the previous call
is credited to the previous posture on the local day(s) it fell in; the alert timer, the daily
summary and day rollovers are driven from the same call. Totals live in memory and are written to
the stats store in batches (every few seconds, at day changes and on close). The rules are
documented in docs/stats.md; the pure ones are module functions so the `stats` command shares them.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as clock_time
from pathlib import Path
from typing import Final, Literal
from zoneinfo import ZoneInfo

from edge_node.config import AlertsConfig, StatsConfig
from edge_node.payloads import DayTotals, Event, History, Posture, Trend
from edge_node.stats_store import (
    FILE_NAME,
    STATES,
    Achievement,
    Batch,
    DayRecord,
    StatsStore,
    StatsWriter,
)

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S: Final = 5.0
MAX_GAP_S: Final = 60.0  # longer between two observations: a clock change or a stall, not counted
MIN_VALID_EPOCH: Final = 1_577_836_800.0  # 2020-01-01: earlier means the clock is not set yet (no RTC)
HISTORY_DAYS: Final = 7
COUNTED_DAY_S: Final = 1800.0  # good + bad time that makes a day count for streaks and the trend
TREND_DAYS: Final = 7
TREND_MIN_DAYS: Final = 4
TREND_CHANGE_POINTS: Final = 5.0
ALERT_FREE_DAY_S: Final = 4 * 3600.0
GOOD_HOUR_S: Final = 3600.0
STREAK_MILESTONES: Final = (3, 7, 30)
ACHIEVEMENTS: Final[dict[str, str]] = {
    "first_goal_day": "First day at your goal",
    "streak_3": "3 days in a row at your goal",
    "streak_7": "7 days in a row at your goal",
    "streak_30": "30 days in a row at your goal",
    "alert_free_day": "A desk day of 4 hours or more without an alert",
    "good_hour": "An hour of good posture without a bad moment",
}
META_STREAK_DAYS: Final = "streak_days"
META_STREAK_THROUGH: Final = "streak_through"
META_FINALIZED: Final = "finalized_through"
META_SUMMARY_SENT: Final = "summary_sent"
META_NODE: Final = "node_id"


# --------------------------------------------------------------------------- pure rules


def score(good_s: float, bad_s: float) -> float | None:
    """good / (good + bad) in percent, one decimal; None without good or bad time."""
    total = good_s + bad_s
    return round(100.0 * good_s / total, 1) if total > 0 else None


def day_totals(record: DayRecord) -> DayTotals:
    """The published form of a day."""
    return DayTotals(
        date=record.date,
        good_s=round(record.good_s, 1),
        bad_s=round(record.bad_s, 1),
        away_s=round(record.away_s, 1),
        paused_s=round(record.paused_s, 1),
        unknown_s=round(record.unknown_s, 1),
        score=score(record.good_s, record.bad_s),
        alerts=record.alerts,
    )


def is_counted(record: DayRecord | None) -> bool:
    """A day counts for streaks and the trend with at least 30 min of good + bad time."""
    return record is not None and record.good_s + record.bad_s >= COUNTED_DAY_S


def met_goal(record: DayRecord, goal: float) -> bool:
    day_score = score(record.good_s, record.bad_s)
    return day_score is not None and day_score >= goal


def next_streak(streak: int, record: DayRecord | None, goal: float) -> int:
    """The streak after a finished day: +1 at or above the goal, 0 below it, kept on a rest day."""
    if record is None or not is_counted(record):
        return streak
    return streak + 1 if met_goal(record, goal) else 0


def trend(days: Mapping[str, DayRecord], today: date) -> tuple[Trend, str]:
    """Improving / declining / stable over the 7 completed days before `today`, and the rule in words."""
    window = [(today - timedelta(days=back)).isoformat() for back in range(TREND_DAYS, 0, -1)]
    scores = [
        day_score
        for day in window
        if is_counted(record := days.get(day)) and record is not None
        if (day_score := score(record.good_s, record.bad_s)) is not None
    ]
    if len(scores) < TREND_MIN_DAYS:
        return "unknown", (
            f"needs {TREND_MIN_DAYS} counted days (30 min or more at the desk) among the "
            f"{TREND_DAYS} days before today; has {len(scores)}"
        )
    half = len(scores) // 2
    older, recent = statistics.fmean(scores[:half]), statistics.fmean(scores[-half:])
    change = recent - older
    verdict: Trend = (
        "improving"
        if change >= TREND_CHANGE_POINTS
        else "declining"
        if change <= -TREND_CHANGE_POINTS
        else "stable"
    )
    return verdict, (
        f"mean score of the latest {half} counted days {recent:.1f} % vs the {half} before {older:.1f} %: "
        f"{change:+.1f} points; {TREND_CHANGE_POINTS:g} points or more is a change "
        f"(counted day: 30 min or more at the desk, among the {TREND_DAYS} days before today)"
    )


def format_duration(seconds: float) -> str:
    """`42 s`, `10 min`, `5 h 07 min` (whole units, rounded down)."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


class LocalCalendar:
    """Local dates and clock times in one zone; None means the system's (read through the C library)."""

    def __init__(self, zone: tzinfo | None) -> None:
        self.zone = zone

    @property
    def name(self) -> str:
        if self.zone is None:
            return f"system ({datetime.now().astimezone().tzname()})"
        return str(getattr(self.zone, "key", self.zone))

    def date_of(self, ts: float) -> date:
        return datetime.fromtimestamp(ts, self.zone).date()

    def at(self, day: date, wall: clock_time) -> float:
        """Epoch seconds of a local wall time (a time skipped by a DST change maps past the gap)."""
        return datetime.combine(day, wall, tzinfo=self.zone).timestamp()

    def bounds(self, ts: float) -> tuple[date, float, float]:
        """The local day containing `ts`, and its start and end (next local midnight) as epoch seconds."""
        day = self.date_of(ts)
        start = self.at(day, clock_time(0))
        end = self.at(day + timedelta(days=1), clock_time(0))
        if not start <= ts < end:  # a zone whose midnight is skipped or repeated: keep moving forward
            start, end = ts, max(end, ts + 1.0)
        return day, start, end


def calendar_for(zone: str | tzinfo | None) -> LocalCalendar:
    """A calendar for an IANA name, a tzinfo, or None for the system's zone."""
    if isinstance(zone, str):
        return LocalCalendar(ZoneInfo(zone))
    return LocalCalendar(zone)


# --------------------------------------------------------------------------- alert timer


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
        return self.alert_s if self.alerts == 0 else self.next_at

    def _outcome(self, kind: AlertKind, now: float, interrupted_by: str | None = None) -> AlertOutcome:
        return AlertOutcome(
            kind, round(self.bad_s, 1), self.alerts, round(now - self.started_at, 1), interrupted_by
        )


# --------------------------------------------------------------------------- the tracker


@dataclass
class _DayTally:
    """Mutable totals of one day in memory."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STATES, 0.0))
    alerts: int = 0

    @classmethod
    def from_record(cls, record: DayRecord) -> _DayTally:
        return cls({state: float(getattr(record, f"{state}_s")) for state in STATES}, record.alerts)

    def record(self, day: str) -> DayRecord:
        s = self.seconds
        return DayRecord(day, s["good"], s["bad"], s["away"], s["paused"], s["unknown"], self.alerts)


class Tracker:
    """Turns the published posture over time into totals, alerts, history, streaks and achievements."""

    def __init__(
        self,
        *,
        node_id: str,
        alerts: AlertsConfig,
        stats: StatsConfig,
        data_dir: Path | None,
        timezone: str | tzinfo | None = None,
        clock: Callable[[], float] = time.time,
        flush_interval_s: float = FLUSH_INTERVAL_S,
        background_writes: bool = True,
    ) -> None:
        self._node_id = node_id
        self._stats = stats
        self._clock = clock
        self._flush_interval_s = flush_interval_s
        self.calendar = calendar_for(timezone if timezone is not None else alerts.timezone)
        self._timer = AlertTimer(
            alert_s=alerts.alert_minutes * 60,
            grace_s=alerts.grace_s,
            cooldown_s=alerts.cooldown_minutes * 60,
        )
        hour, minute = (int(part) for part in alerts.daily_summary_at.split(":"))
        self._summary_wall = clock_time(hour, minute)
        self.store = StatsStore(data_dir / FILE_NAME if data_dir is not None else None, clock=clock)
        self._writer = StatsWriter(self.store, background=background_writes)
        snapshot = self.store.snapshot()
        self._generation = self.store.generation
        self._days = {day: _DayTally.from_record(r) for day, r in snapshot.days.items()}
        self._achievements = dict(snapshot.achievements)
        self._meta = dict(snapshot.meta)
        self._dirty_days: set[str] = set()
        self._new_achievements: dict[str, Achievement] = {}
        self._meta_dirty = False
        self._prune_before: str | None = None
        self._dirty: set[str] = set()  # the node publishes both at start anyway
        self._events: list[Event] = []
        self._last: tuple[Posture, float] | None = None
        self._bounds: tuple[date, float, float] | None = None
        self._good_run_s = 0.0
        self._clock_warned = False
        self._closed = False
        now = clock()
        self._today = self.calendar.date_of(now)
        self._last_flush = now
        self._set_meta(META_NODE, node_id)
        if META_FINALIZED not in self._meta:
            self._set_meta(META_FINALIZED, (self._today - timedelta(days=1)).isoformat())
        self._finalize_until(self._today, now)
        self._prune(self._today)
        log.info(
            "stats: %d stored days in %s, time zone %s, today %s",
            len(self._days),
            "memory" if self.store.in_memory else self.store.path,
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
            previous, since = self._last
            dt = now - since
            if 0 <= dt <= MAX_GAP_S:
                self._account(previous, since, now)
                events += self._alert_events(previous, dt, posture, now)
                self._track_good_run(previous, dt, now, events)
            else:
                log.warning(
                    "%+.0f s between two posture observations (clock change or stall): not counted", dt
                )
                self._timer.reset()
            if posture != previous:
                self._dirty.add("stats")
        self._last = (posture, now)
        day = self._day_of(now)
        if day != self._today:
            self._change_day(day, now, events)
        self._maybe_daily_summary(now, events)
        if now - self._last_flush >= self._flush_interval_s or now < self._last_flush:
            self._flush(now)
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
        day = self.calendar.date_of(now).isoformat()
        return day_totals(self._record(day))

    def history(self, now: float) -> History:
        """The last 7 days (oldest first, today last), the trend and the streak."""
        today = self.calendar.date_of(now)
        days = tuple(
            day_totals(self._record((today - timedelta(days=back)).isoformat()))
            for back in range(HISTORY_DAYS - 1, -1, -1)
        )
        verdict, rule = trend(self._records(), today)
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
        return int(self._meta.get(META_STREAK_DAYS, "0"))

    @property
    def achievements(self) -> dict[str, Achievement]:
        return dict(self._achievements)

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

    def _day_of(self, ts: float) -> date:
        bounds = self._bounds
        if bounds is None or not bounds[1] <= ts < bounds[2]:
            bounds = self._bounds = self.calendar.bounds(ts)
        return bounds[0]

    def _tally(self, day: str) -> _DayTally:
        tally = self._days.get(day)
        if tally is None:
            tally = self._days[day] = _DayTally()
        return tally

    def _record(self, day: str) -> DayRecord:
        tally = self._days.get(day)
        return tally.record(day) if tally else DayRecord(day)

    def _records(self) -> dict[str, DayRecord]:
        return {day: tally.record(day) for day, tally in self._days.items()}

    def _account(self, posture: Posture, start: float, end: float) -> None:
        """Credit [start, end) to `posture`, split at local midnights."""
        at = start
        while at < end:
            self._day_of(at)
            assert self._bounds is not None
            day, _, day_end = self._bounds
            upto = min(end, day_end)
            key = day.isoformat()
            self._tally(key).seconds[posture] += upto - at
            self._dirty_days.add(key)
            at = upto

    def _alert_events(self, spent: Posture, dt: float, current: Posture, now: float) -> list[Event]:
        events = []
        for outcome in self._timer.step(spent, dt, current, now):
            if outcome.kind == "posture_alert":
                day = self._day_of(now).isoformat()
                self._tally(day).alerts += 1
                self._dirty_days.add(day)
                self._dirty.add("stats")
            events.append(self._alert_event(outcome, now))
        return events

    def _alert_event(self, outcome: AlertOutcome, now: float) -> Event:
        bad = format_duration(outcome.bad_s)
        details: dict[str, object] = {
            "bad_s": outcome.bad_s,
            "episode_s": outcome.episode_s,
            "alerts": outcome.alerts,
        }
        if outcome.kind == "posture_alert":
            message = f"bad posture for {bad}: time to sit up or take a break"
            details |= {
                "alert_s": round(self._timer.alert_s, 1),
                "cooldown_s": round(self._timer.cooldown_s, 1),
                "alerts_today": self._record(self._day_of(now).isoformat()).alerts,
            }
        elif outcome.kind == "posture_corrected":
            message = f"posture corrected after {bad} of bad posture"
        else:
            message = f"alert cleared: {outcome.interrupted_by} for {self._timer.grace_s:g} s or more"
            details["interrupted_by"] = outcome.interrupted_by
        return self._event(outcome.kind, message, now, details)

    def _track_good_run(self, spent: Posture, dt: float, now: float, events: list[Event]) -> None:
        if spent == "bad" and dt > 0:
            self._good_run_s = 0.0
        elif spent == "good":
            self._good_run_s += dt
            if self._good_run_s >= GOOD_HOUR_S:
                self._award("good_hour", self._day_of(now), now, events)

    def _event(self, event_type: str, message: str, now: float, details: dict[str, object]) -> Event:
        return Event(node=self._node_id, event_type=event_type, ts=now, message=message, details=details)

    # ------------------------------------------------------------------ days

    def _change_day(self, day: date, now: float, events: list[Event]) -> None:
        previous, self._today = self._today, day
        log.info("stats: local day is now %s (was %s)", day, previous)
        self._dirty |= {"stats", "history"}
        self._finalize_until(day, now, events)
        self._prune(day)
        self._flush(now)

    def _finalize_until(self, today: date, now: float, events: list[Event] | None = None) -> None:
        """Close every stored day after the last finalised one and before `today`: streak, awards."""
        done = self._meta.get(META_FINALIZED, "")
        target = events if events is not None else self._events
        for day in sorted(d for d in self._days if done < d < today.isoformat()):
            self._finalize(day, now, target)
            done = day
        if done > self._meta.get(META_FINALIZED, ""):
            self._set_meta(META_FINALIZED, done)

    def _finalize(self, day: str, now: float, events: list[Event]) -> None:
        record = self._record(day)
        if not is_counted(record):
            return
        goal = self._stats.goal
        before = self.streak_days
        after = next_streak(before, record, goal)
        day_score = score(record.good_s, record.bad_s)
        details: dict[str, object] = {"date": day, "score": day_score, "goal": goal}
        if after > 0:
            self._set_meta(META_STREAK_DAYS, str(after))
            self._set_meta(META_STREAK_THROUGH, day)
            noun = "day" if after == 1 else "days"
            events.append(
                self._event(
                    "streak",
                    f"{day}: {day_score:.1f} %, goal met; streak {after} {noun}",
                    now,
                    details | {"status": "extended", "streak_days": after},
                )
            )
            self._award("first_goal_day", date.fromisoformat(day), now, events)
            for milestone in STREAK_MILESTONES:
                if after >= milestone:
                    self._award(f"streak_{milestone}", date.fromisoformat(day), now, events)
        else:
            self._set_meta(META_STREAK_DAYS, "0")
            self._set_meta(META_STREAK_THROUGH, day)
            if before > 0:
                events.append(
                    self._event(
                        "streak",
                        f"{day}: {day_score:.1f} % is below the {goal:g} % goal; "
                        f"the streak of {before} days ended",
                        now,
                        details | {"status": "ended", "streak_days": 0, "previous_streak_days": before},
                    )
                )
        if record.alerts == 0 and record.good_s + record.bad_s >= ALERT_FREE_DAY_S:
            self._award("alert_free_day", date.fromisoformat(day), now, events)
        self._dirty.add("history")

    def _award(self, achievement: str, day: date, now: float, events: list[Event]) -> None:
        if achievement in self._achievements:
            return
        title = ACHIEVEMENTS[achievement]
        award = Achievement(achievement, title, day.isoformat(), now)
        self._achievements[achievement] = award
        self._new_achievements[achievement] = award
        log.info("achievement: %s (%s)", title, day)
        events.append(
            self._event("achievement", title, now, {"id": achievement, "title": title, "date": award.date})
        )

    def _maybe_daily_summary(self, now: float, events: list[Event]) -> None:
        today = self._today.isoformat()
        if self._meta.get(META_SUMMARY_SENT, "") >= today:
            return
        if now < self.calendar.at(self._today, self._summary_wall):
            return
        self._set_meta(META_SUMMARY_SENT, today)
        record = self._record(today)
        if record.good_s + record.bad_s <= 0:
            log.info("stats: no desk time today, so no daily summary")
            return
        events.append(self._summary_event(record, now))

    def _summary_event(self, record: DayRecord, now: float) -> Event:
        totals = day_totals(record)
        earlier = [
            self._record(day)
            for day in sorted(self._days, reverse=True)
            if day < record.date and self._days[day].seconds["good"] + self._days[day].seconds["bad"] > 0
        ]
        before = day_totals(earlier[0]) if earlier else None
        change = (
            round(totals.score - before.score, 1)
            if before is not None and before.score is not None and totals.score is not None
            else None
        )
        goal = self._stats.goal
        message = (
            f"{record.date}: {totals.score:.1f} % good posture ({format_duration(record.good_s)} good, "
            f"{format_duration(record.bad_s)} bad, {record.alerts} alert{'' if record.alerts == 1 else 's'})"
        )
        if before is not None and change is not None:
            message += f"; {change:+.1f} points vs {before.date} ({before.score:.1f} %)"
        details: dict[str, object] = totals.model_dump(exclude={"v"}) | {
            "goal": goal,
            "goal_met": totals.score is not None and totals.score >= goal,
            "streak_days": self.streak_days,
            "previous": before.model_dump(exclude={"v"}) if before else None,
            "score_change": change,
        }
        return self._event("daily_summary", message, now, details)

    # ------------------------------------------------------------------ storage

    def _set_meta(self, key: str, value: str) -> None:
        if self._meta.get(key) != value:
            self._meta[key] = value
            self._meta_dirty = True

    def _prune(self, today: date) -> None:
        """Drop days older than the retention from memory; the next batch summarises them in the store."""
        cutoff = (today - timedelta(days=self._stats.retention_days)).isoformat()
        for day in [day for day in self._days if day < cutoff]:
            del self._days[day]
            self._dirty_days.discard(day)
        self._prune_before = cutoff

    def _flush(self, now: float) -> None:
        if self.store.generation != self._generation:
            # The store started a fresh file: write back everything we hold.
            self._generation = self.store.generation
            self._dirty_days |= set(self._days)
            self._new_achievements |= self._achievements
            self._meta_dirty = True
        batch = Batch(
            days={day: self._record(day) for day in self._dirty_days if day in self._days},
            achievements=self._new_achievements,
            meta=dict(self._meta) if self._meta_dirty else {},
            prune_before=self._prune_before,
        )
        self._dirty_days = set()
        self._new_achievements = {}
        self._meta_dirty = False
        self._prune_before = None
        self._last_flush = now
        self._writer.submit(batch)
