"""Alerts, daily totals, rollover, summaries, streaks and achievements, driven by a scripted clock.

No sleeping: a `Desk` moves its own clock in steps (0.25 s is exact in binary floating point, so
the expected seconds are exact) and feeds the tracker the posture, as the node's loop does. The
stats store is the real SQLite file in a temporary data dir.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from edge_node.config import AlertsConfig, StatsConfig
from edge_node.payloads import Event
from edge_node.stats.alerts import AlertTimer
from edge_node.stats.days import LocalCalendar
from edge_node.stats.rules import COUNTED_DAY_S, day_totals, score, trend
from edge_node.stats.store import FILE_NAME, Batch, DayRecord, StatsStore
from edge_node.stats.tracker import open_tracker
from edge_node.vocabulary import Posture

ZONE = "Europe/Berlin"
TZ = ZoneInfo(ZONE)


def local(day: date, hour: int = 0, minute: int = 0) -> float:
    """Epoch seconds of a Berlin wall time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).timestamp()


MONDAY = date(2025, 6, 2)


class Desk:
    """A tracker on a controllable clock, fed a scripted sequence of postures."""

    def __init__(
        self,
        data_dir: Path,
        start: float,
        *,
        alerts: dict[str, Any] | None = None,
        stats: dict[str, Any] | None = None,
        step: float = 0.25,
        background: bool = False,
    ) -> None:
        self.now = start
        self.step = step
        self.events: list[Event] = []
        self.tracker = open_tracker(
            node_id="desk",
            alerts=AlertsConfig.model_validate({"timezone": ZONE, **(alerts or {})}),
            stats=StatsConfig.model_validate(stats or {}),
            data_dir=data_dir,
            clock=lambda: self.now,
            background_writes=background,
        )

    def spend(self, posture: Posture, seconds: float, step: float | None = None) -> list[Event]:
        """`posture` from now for `seconds`, observed every `step` seconds; return the new events."""
        step = step or self.step
        new = self.tracker.observe(posture, self.now)
        steps = round(seconds / step)
        assert steps * step == seconds, "the script must be a whole number of steps"
        for _ in range(steps):
            self.now += step
            new += self.tracker.observe(posture, self.now)
        self.events += new
        return new

    def jump(self, seconds: float) -> None:
        """Move the clock without observing (a clock change, or the node being off)."""
        self.now += seconds

    def named(self, event_type: str) -> list[Event]:
        return [e for e in self.events if e.event_type == event_type]

    def close(self) -> None:
        self.tracker.close(self.now)


def stored_days(data_dir: Path) -> dict[str, DayRecord]:
    """The day rows as another process sees them."""
    conn = sqlite3.connect(data_dir / FILE_NAME)
    try:
        rows = conn.execute(
            "SELECT date, good_s, bad_s, away_s, paused_s, unknown_s, alerts FROM days"
        ).fetchall()
    finally:
        conn.close()
    return {row[0]: DayRecord(*row) for row in rows}


def seed(data_dir: Path, days: list[DayRecord], meta: dict[str, str] | None = None) -> None:
    """Days as an earlier run of the node left them."""
    store = StatsStore(data_dir / FILE_NAME)
    store.write(Batch(days={d.date: d for d in days}, meta=meta or {}))
    store.close()


def desk_day(day: date, score_pct: float, *, hours: float = 6.0, alerts: int = 0) -> DayRecord:
    """A stored day with `hours` at the desk and the given score."""
    total = hours * 3600
    good = total * score_pct / 100
    return DayRecord(day.isoformat(), good_s=good, bad_s=total - good, away_s=1800.0, alerts=alerts)


# --------------------------------------------------------------------------- time accounting


def test_a_scripted_day_gives_exact_seconds_per_state(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 8))
    desk.spend("unknown", 12.5)
    desk.spend("good", 3600)
    desk.spend("bad", 420)
    desk.spend("away", 900)
    desk.spend("good", 1800.25)
    desk.spend("paused", 600)
    desk.spend("bad", 179.75)
    desk.spend("good", 0.5)
    today = desk.tracker.today(desk.now)
    assert today.date == "2025-06-02"
    assert (today.good_s, today.bad_s, today.away_s, today.paused_s, today.unknown_s) == (
        5400.8,  # 3600 + 1800.25 + 0.5, rounded to 0.1 s
        599.8,  # 420 + 179.75
        900.0,
        600.0,
        12.5,
    )
    # Away, paused and unknown time is kept apart and never part of the score.
    assert today.score == round(100 * 5400.75 / (5400.75 + 599.75), 1) == 90.0
    desk.close()
    stored = stored_days(tmp_path)["2025-06-02"]
    assert (stored.good_s, stored.bad_s, stored.away_s, stored.paused_s, stored.unknown_s) == (
        5400.75,
        599.75,
        900.0,
        600.0,
        12.5,
    )


def test_the_first_observation_only_starts_the_clock(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9))
    desk.jump(3600)  # the node was busy starting: that hour is nobody's
    desk.spend("good", 10)
    assert desk.tracker.today(desk.now).good_s == 10.0


def test_a_day_with_no_good_or_bad_time_has_no_score(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9))
    desk.spend("away", 60)
    desk.spend("unknown", 60)
    assert desk.tracker.today(desk.now).score is None
    assert score(0, 0) is None
    assert score(3, 1) == 75.0


def test_clock_changes_are_not_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    desk = Desk(tmp_path, local(MONDAY, 10))
    desk.spend("good", 60)
    desk.jump(-3600)  # NTP pulls the clock back an hour
    desk.spend("good", 30)
    desk.jump(7200)  # and forward two
    desk.spend("bad", 30)
    today = desk.tracker.today(desk.now)
    assert (today.good_s, today.bad_s) == (90.0, 30.0)
    assert sum(1 for r in caplog.records if "clock change or stall" in r.getMessage()) == 2


def test_a_clock_that_is_not_set_counts_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    desk = Desk(tmp_path, local(MONDAY, 10))
    desk.now = 1000.0  # a Pi without a real-time clock boots in 1970
    desk.spend("good", 60)
    desk.now = local(MONDAY, 10, 5)
    desk.spend("good", 60)
    assert desk.tracker.today(desk.now).good_s == 60.0
    assert "1970-01-01" not in stored_days_after_close(desk, tmp_path)
    assert any("clock is not set" in r.getMessage() for r in caplog.records)


def stored_days_after_close(desk: Desk, data_dir: Path) -> dict[str, DayRecord]:
    desk.close()
    return stored_days(data_dir)


# --------------------------------------------------------------------------- alerts


def test_bad_posture_sustained_for_alert_minutes_raises_one_alert(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9))
    desk.spend("good", 60)
    assert desk.spend("bad", 599.75) == []
    assert desk.tracker.bad_for_s(desk.now) == 599.8
    new = desk.spend("bad", 0.25)
    assert [e.event_type for e in new] == ["posture_alert"]
    alert = new[0]
    assert alert.details["bad_s"] == 600.0
    assert alert.details["alert_s"] == 600.0
    assert alert.details["alerts_today"] == 1
    assert alert.ts == desk.now
    assert alert.node == "desk"
    assert desk.tracker.today(desk.now).alerts == 1


def test_flicker_shorter_than_the_grace_does_not_reset_the_alert_timer(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9))
    desk.spend("bad", 300)
    desk.spend("good", 20)
    assert desk.tracker.bad_for_s(desk.now) == 300.0  # held through the interruption
    desk.spend("bad", 180)
    desk.spend("away", 29.75)
    desk.spend("bad", 60)
    desk.spend("unknown", 10)
    desk.spend("paused", 15)
    assert desk.named("posture_alert") == []
    assert desk.tracker.bad_for_s(desk.now) == 540.0
    desk.spend("bad", 60)
    alerts = desk.named("posture_alert")
    assert len(alerts) == 1
    assert alerts[0].details["bad_s"] == 600.0  # only bad time counts toward the alert
    assert alerts[0].details["episode_s"] == round(600.0 + 20 + 29.75 + 10 + 15, 1)


def test_an_interruption_as_long_as_the_grace_resets_the_timer(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9), alerts={"grace_s": 30})
    desk.spend("bad", 540)
    desk.spend("good", 30)
    assert desk.tracker.bad_for_s(desk.now) == 0.0
    desk.spend("bad", 540)
    assert desk.named("posture_alert") == []
    assert desk.tracker.bad_for_s(desk.now) == 540.0


@pytest.mark.parametrize("posture", ["away", "paused", "unknown"])
def test_away_paused_and_unknown_time_never_counts_toward_an_alert(tmp_path: Path, posture: Posture) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9))
    desk.spend("bad", 590)
    desk.spend(posture, 25)
    desk.spend("bad", 9.75)
    assert desk.named("posture_alert") == []
    desk.spend("bad", 0.25)
    assert len(desk.named("posture_alert")) == 1


def test_the_alert_repeats_exactly_once_per_cooldown_while_bad_persists(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9), alerts={"alert_minutes": 10, "cooldown_minutes": 5})
    desk.spend("bad", 29 * 60 + 59.75)
    alerts = desk.named("posture_alert")
    assert [a.details["bad_s"] for a in alerts] == [600.0, 900.0, 1200.0, 1500.0]
    assert [a.details["alerts"] for a in alerts] == [1, 2, 3, 4]
    assert desk.tracker.today(desk.now).alerts == 4
    desk.spend("bad", 0.25)
    assert len(desk.named("posture_alert")) == 5


def test_good_posture_after_an_alert_is_a_correction_with_the_durations(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9))
    desk.spend("bad", 700)
    new = desk.spend("good", 5)
    assert [e.event_type for e in new] == ["posture_corrected"]
    assert new[0].details["bad_s"] == 700.0
    assert new[0].details["alerts"] == 1
    assert new[0].ts == local(MONDAY, 9) + 700
    assert desk.spend("good", 60) == []  # one correction per alert


def test_good_posture_without_an_alert_is_no_correction(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9))
    desk.spend("bad", 500)
    desk.spend("good", 60)
    assert desk.events == []


def test_leaving_after_an_alert_clears_it_once_the_grace_is_over(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9))
    desk.spend("bad", 650)
    desk.spend("away", 29.75)
    assert [e.event_type for e in desk.events] == ["posture_alert"]
    new = desk.spend("away", 0.25)
    assert [e.event_type for e in new] == ["alert_cleared"]
    assert new[0].details["interrupted_by"] == "away"
    assert desk.tracker.bad_for_s(desk.now) == 0.0


def test_a_new_alert_threshold_applies_to_the_running_streak(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9))
    desk.spend("bad", 240)
    desk.tracker.set_alert_minutes(3)
    new = desk.spend("bad", 0.25)
    assert [e.event_type for e in new] == ["posture_alert"]
    assert new[0].details["alert_s"] == 180.0
    assert new[0].details["bad_s"] == 240.0


def test_the_alert_timer_is_pure_and_configurable() -> None:
    timer = AlertTimer(alert_s=60, grace_s=0, cooldown_s=60)
    assert timer.step("bad", 59, "bad", 100.0) == []
    assert [o.kind for o in timer.step("bad", 1, "bad", 101.0)] == ["posture_alert"]
    assert [o.kind for o in timer.step("bad", 1, "good", 102.0)] == ["posture_corrected"]
    timer.step("good", 0.1, "bad", 102.1)  # no grace: any interruption ends the episode
    assert timer.bad_s == 0.0


# --------------------------------------------------------------------------- days


def test_midnight_splits_a_bad_streak_between_the_days(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 23, 50))
    desk.spend("good", 300)
    desk.spend("bad", 600)  # 23:55 → 00:05
    monday = desk.tracker.today(local(MONDAY, 23, 59))
    tuesday = desk.tracker.today(desk.now)
    assert (monday.date, monday.good_s, monday.bad_s, monday.alerts) == ("2025-06-02", 300.0, 300.0, 0)
    assert (tuesday.date, tuesday.good_s, tuesday.bad_s, tuesday.alerts) == ("2025-06-03", 0.0, 300.0, 1)
    alert = desk.named("posture_alert")[0]  # the streak runs on across midnight
    assert alert.details["bad_s"] == 600.0
    assert alert.details["alerts_today"] == 1
    days = desk.tracker.history(desk.now).days
    assert [(d.date, d.bad_s) for d in days[-2:]] == [("2025-06-02", 300.0), ("2025-06-03", 300.0)]
    desk.close()
    stored = stored_days(tmp_path)
    assert stored["2025-06-02"].bad_s == stored["2025-06-03"].bad_s == 300.0


def test_a_day_is_as_long_as_the_local_clock_says(tmp_path: Path) -> None:
    spring = date(2025, 3, 30)  # Berlin: 02:00 → 03:00
    desk = Desk(tmp_path, local(spring), step=30.0)
    desk.spend("away", 23 * 3600)
    assert desk.tracker.today(desk.now - 1).away_s == 23 * 3600
    assert desk.tracker.today(desk.now).date == "2025-03-31"


def test_the_system_time_zone_is_the_default() -> None:
    calendar = LocalCalendar(None)
    noon = datetime(2025, 6, 2, 12, 0).timestamp()  # naive: the system's local time
    assert calendar.date_of(noon) == date(2025, 6, 2)
    day, start, end = calendar.bounds(noon)
    assert (day, datetime.fromtimestamp(start), datetime.fromtimestamp(end)) == (
        date(2025, 6, 2),
        datetime(2025, 6, 2),
        datetime(2025, 6, 3),
    )


def test_a_restart_mid_day_keeps_the_totals(tmp_path: Path) -> None:
    first = Desk(tmp_path, local(MONDAY, 9))
    first.spend("good", 3000)
    first.spend("bad", 400)
    first.close()
    second = Desk(tmp_path, first.now + 120)  # down for two minutes
    assert second.tracker.today(second.now).good_s == 3000.0
    second.spend("good", 600)
    second.spend("bad", 100)
    today = second.tracker.today(second.now)
    assert (today.good_s, today.bad_s) == (3600.0, 500.0)
    second.close()
    assert stored_days(tmp_path)["2025-06-02"].good_s == 3600.0


def test_a_power_loss_costs_at_most_the_last_flush_interval(tmp_path: Path) -> None:
    first = Desk(tmp_path, local(MONDAY, 9))
    first.spend("good", 3600 + 3.5)  # never closed: the power went
    survivor = open_tracker(
        node_id="desk",
        alerts=AlertsConfig(timezone=ZONE),
        stats=StatsConfig(),
        data_dir=tmp_path,
        background_writes=False,
        clock=lambda: first.now,
    )
    kept = survivor.today(first.now).good_s
    flush_s = StatsConfig().flush_interval_s
    assert flush_s == 60.0  # the default: at most a minute of statistics lost
    assert 3600 + 3.5 - flush_s <= kept <= 3600 + 3.5


def test_writes_are_batched_not_one_per_observation(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9), step=1.0)
    journal = desk.tracker._writer.journal
    assert journal is not None
    commits, writes = desk.tracker.store.commits, journal.writes
    desk.spend("good", 2 * 3600)  # 7,200 observations
    commits, writes = desk.tracker.store.commits - commits, journal.writes - writes
    # The day totals go to the minute journal once a minute, everything to SQLite once an hour (and
    # once at the first minute: the markers set at start); after a commit the journal is emptied.
    assert commits == 3
    assert writes == 120
    desk.close()


def test_the_flush_interval_is_a_setting(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9), stats={"flush_interval_s": 5})
    journal = desk.tracker._writer.journal
    assert journal is not None
    before = journal.writes
    desk.spend("good", 120)
    assert 120 / 5 - 1 <= journal.writes - before <= 120 / 5 + 1
    desk.close()
    for wrong in (4.9, 601):
        with pytest.raises(ValueError, match="flush_interval_s"):
            StatsConfig.model_validate({"flush_interval_s": wrong})


def test_the_background_writer_writes_on_its_own_thread(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9), background=True)
    desk.spend("good", 30)
    assert desk.tracker.flush(desk.now, timeout=30)
    assert stored_days(tmp_path)["2025-06-02"].good_s == 30.0
    desk.close()


def test_the_day_rolls_over_across_a_restart(tmp_path: Path) -> None:
    first = Desk(tmp_path, local(MONDAY, 9), step=5.0)
    first.spend("good", 4 * 3600)
    first.spend("bad", 1800)
    first.close()
    second = Desk(tmp_path, local(MONDAY + timedelta(days=1), 8))
    assert second.tracker.today(second.now).good_s == 0.0
    new = second.spend("good", 1)
    streak = [e for e in new if e.event_type == "streak"]
    assert len(streak) == 1
    assert streak[0].details | {} == {
        "date": "2025-06-02",
        "score": 88.9,
        "goal": 80.0,
        "status": "extended",
        "streak_days": 1,
    }
    assert "first_goal_day" in {e.details["id"] for e in new if e.event_type == "achievement"}
    assert second.tracker.history(second.now).streak_days == 1
    second.close()
    third = Desk(tmp_path, local(MONDAY + timedelta(days=1), 9))
    assert third.spend("good", 1) == []  # finalised once, announced once


def test_take_dirty_says_when_to_publish(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 23, 59))
    desk.spend("unknown", 1)
    assert desk.tracker.take_dirty() == set()  # the node publishes everything at start anyway
    desk.spend("good", 10)
    assert desk.tracker.take_dirty() == {"stats"}  # unknown → good
    desk.spend("good", 10)
    assert desk.tracker.take_dirty() == set()
    desk.spend("good", 60)  # across midnight
    assert desk.tracker.take_dirty() == {"stats", "history"}


# --------------------------------------------------------------------------- daily summary


def test_the_daily_summary_comes_once_at_the_configured_time(tmp_path: Path) -> None:
    seed(tmp_path, [desk_day(MONDAY - timedelta(days=3), 70.0, alerts=2)])  # Friday
    desk = Desk(tmp_path, local(MONDAY, 17), alerts={"daily_summary_at": "17:30"}, step=1.0)
    desk.spend("good", 1500)
    desk.spend("bad", 299)
    assert desk.named("daily_summary") == []
    desk.spend("bad", 1)  # 17:30:00
    desk.spend("good", 3600)
    summaries = desk.named("daily_summary")
    assert len(summaries) == 1
    summary = summaries[0]
    assert summary.ts == local(MONDAY, 17, 30)
    assert summary.details["date"] == "2025-06-02"
    assert (summary.details["good_s"], summary.details["bad_s"]) == (1500.0, 300.0)
    assert summary.details["score"] == 83.3
    previous = summary.details["previous"]
    assert isinstance(previous, dict)
    assert (previous["date"], previous["score"], previous["alerts"]) == ("2025-05-30", 70.0, 2)
    assert summary.details["score_change"] == 13.3
    assert summary.details["goal_met"] is True
    assert summary.message == (
        "2025-06-02: 83.3 % good posture (25 min good, 5 min bad, 0 alerts); "
        "+13.3 points vs 2025-05-30 (70.0 %)"
    )
    desk.close()
    again = Desk(tmp_path, desk.now + 60, alerts={"daily_summary_at": "17:30"})
    again.spend("good", 10)
    assert again.named("daily_summary") == []


def test_a_missed_summary_is_sent_after_a_restart(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 17, 50))
    desk.spend("good", 300)
    desk.close()
    later = Desk(tmp_path, local(MONDAY, 19))
    new = later.spend("good", 1)
    assert [e.event_type for e in new] == ["daily_summary"]
    assert new[0].details["good_s"] == 300.0
    assert new[0].details["previous"] is None


def test_no_summary_for_a_day_without_desk_time(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 17, 59), step=1.0)
    desk.spend("away", 120)
    assert desk.events == []


# --------------------------------------------------------------------------- history


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([60, 62, 61, 75, 80, 79, 82], "improving"),
        ([90, 88, 91, 80, 79, 78, 75], "declining"),
        ([80, 84, 78, 82, 81, 79, 80], "stable"),
        ([None, 60, None, 70, None, 85, None], "unknown"),  # three counted days are not enough
        ([None, 60, 70, None, 71, 85, None], "improving"),  # (60 + 70) / 2 vs (71 + 85) / 2
    ],
)
def test_the_trend_compares_the_recent_half_with_the_older(scores: list[float | None], expected: str) -> None:
    today = date(2025, 6, 9)
    days = {
        record.date: record
        for back, value in zip(range(7, 0, -1), scores, strict=True)
        if value is not None
        for record in [desk_day(today - timedelta(days=back), value)]
    }
    days[today.isoformat()] = desk_day(today, 0.0)  # today is never part of the trend
    verdict, rule = trend(days, today)
    assert verdict == expected
    assert ("points" in rule) == (expected != "unknown")


def test_days_below_thirty_minutes_do_not_count_for_the_trend() -> None:
    today = date(2025, 6, 9)
    short = COUNTED_DAY_S / 3600 - 0.01
    days = {
        r.date: r
        for r in [desk_day(today - timedelta(days=back), 50.0 + back, hours=short) for back in range(1, 8)]
    }
    assert trend(days, today)[0] == "unknown"


def test_history_has_seven_days_the_trend_and_the_streak(tmp_path: Path) -> None:
    tuesday = date(2025, 6, 10)
    seed(
        tmp_path,
        [desk_day(tuesday - timedelta(days=back), 60.0 + 5 * (7 - back)) for back in range(7, 0, -1)],
        meta={"finalized_through": (tuesday - timedelta(days=1)).isoformat(), "streak_days": "3"},
    )
    desk = Desk(tmp_path, local(tuesday, 9))
    desk.spend("good", 60)
    history = desk.tracker.history(desk.now)
    assert [d.date for d in history.days] == [
        (tuesday - timedelta(days=back)).isoformat() for back in range(6, -1, -1)
    ]
    assert history.days[-1].good_s == 60.0
    assert history.days[0].score == 65.0
    assert history.trend == "improving"
    assert history.streak_days == 3
    assert history.goal == 80.0
    assert history.node == "desk"


def test_streaks_grow_on_goal_days_skip_rest_days_and_end_below_the_goal(tmp_path: Path) -> None:
    start = date(2025, 6, 2)
    seed(tmp_path, [], meta={"finalized_through": (start - timedelta(days=1)).isoformat()})
    desk = Desk(tmp_path, local(start, 9), step=10.0)
    for day_score, day in [(90, 0), (85, 1), (None, 2), (95, 3), (50, 4), (100, 5)]:
        desk.now = local(start + timedelta(days=day), 9)
        if day_score is None:
            desk.spend("away", 3600)  # a day off: no desk time
        else:
            desk.spend("good", 36 * day_score)
            desk.spend("bad", 36 * (100 - day_score))
        desk.spend("away", 60)
    desk.now = local(start + timedelta(days=6), 9)
    desk.spend("good", 10)
    streaks = [
        (e.details["date"], e.details["status"], e.details["streak_days"]) for e in desk.named("streak")
    ]
    assert streaks == [
        ("2025-06-02", "extended", 1),
        ("2025-06-03", "extended", 2),
        ("2025-06-05", "extended", 3),
        ("2025-06-06", "ended", 0),
        ("2025-06-07", "extended", 1),
    ]
    awarded = [(e.details["id"], e.details["date"]) for e in desk.named("achievement")]
    assert ("first_goal_day", "2025-06-02") in awarded
    assert ("streak_3", "2025-06-05") in awarded
    assert desk.tracker.streak_days == 1
    assert desk.tracker.history(desk.now).streak_days == 1


def test_achievements_are_awarded_once_and_stored(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 8), step=5.0)
    desk.spend("good", 3595)
    assert desk.named("achievement") == []
    desk.spend("away", 600)  # leaving does not break a good run
    desk.spend("good", 5)
    assert [e.details["id"] for e in desk.named("achievement")] == ["good_hour"]
    desk.spend("bad", 60)
    desk.spend("good", 3600)
    assert len(desk.named("achievement")) == 1
    desk.spend("good", 3 * 3600)
    desk.now = local(MONDAY + timedelta(days=1), 8)
    desk.spend("good", 5)
    ids = [e.details["id"] for e in desk.named("achievement")]
    assert ids == ["good_hour", "first_goal_day", "alert_free_day"]
    desk.close()
    assert set(Desk(tmp_path, desk.now).tracker.achievements) == {
        "good_hour",
        "first_goal_day",
        "alert_free_day",
    }


def test_days_past_the_retention_are_summarised_by_month(tmp_path: Path) -> None:
    today = date(2025, 6, 2)
    old = [desk_day(today - timedelta(days=back), 80.0) for back in (40, 35, 31, 30, 1)]
    seed(tmp_path, old)
    desk = Desk(tmp_path, local(today, 9), stats={"retention_days": 30})
    desk.spend("good", 10)
    desk.close()
    assert sorted(stored_days(tmp_path)) == ["2025-05-03", "2025-06-01", "2025-06-02"]
    conn = sqlite3.connect(tmp_path / FILE_NAME)
    months = conn.execute("SELECT month, days, good_s FROM months").fetchall()
    conn.close()
    assert months == [("2025-04", 2, 2 * 6 * 3600 * 0.8), ("2025-05", 1, 6 * 3600 * 0.8)]


# --------------------------------------------------------------------------- damaged store


def test_a_corrupt_database_is_moved_aside_and_the_node_keeps_counting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"this is not SQLite\n" * 500)
    with caplog.at_level(logging.ERROR):
        desk = Desk(tmp_path, local(MONDAY, 9))
    aside = list(tmp_path.glob(f"{FILE_NAME}.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_bytes().startswith(b"this is not SQLite")
    assert any("is unreadable" in r.getMessage() and str(aside[0]) in r.getMessage() for r in caplog.records)
    desk.spend("good", 60)
    desk.close()
    assert stored_days(tmp_path)["2025-06-02"].good_s == 60.0


def test_corruption_found_while_running_is_recovered_without_losing_the_day(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seed(tmp_path, [desk_day(MONDAY - timedelta(days=1), 90.0)])
    desk = Desk(tmp_path, local(MONDAY, 9))
    desk.spend("good", 60)
    damage_schema(tmp_path / FILE_NAME)
    desk.spend("bad", 30)
    desk.tracker.flush(desk.now)  # the next SQLite batch (hourly, or at a day change) finds the damage
    assert any("is unreadable" in r.getMessage() for r in caplog.records)
    desk.close()
    stored = stored_days(tmp_path)
    assert (stored["2025-06-02"].good_s, stored["2025-06-02"].bad_s) == (60.0, 30.0)
    assert stored["2025-06-01"].good_s == desk_day(MONDAY - timedelta(days=1), 90.0).good_s


def damage_schema(path: Path) -> None:
    """Break the schema the way a bad SD card sector would: SQLite then reports SQLITE_CORRUPT."""
    conn = sqlite3.connect(path, isolation_level=None)
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = 'CREATE TABLE days (garbage' WHERE name = 'days'")
    conn.execute(f"PRAGMA schema_version = {version + 1}")
    conn.close()


def test_published_days_round_seconds_and_compute_the_score() -> None:
    record = DayRecord("2025-06-02", good_s=100.04, bad_s=33.36, away_s=1.25, alerts=2)
    totals = day_totals(record)
    assert (totals.good_s, totals.bad_s, totals.away_s, totals.score, totals.alerts) == (
        100.0,
        33.4,
        1.2,
        75.0,
        2,
    )
