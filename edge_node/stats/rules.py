"""The rules behind the statistics, pure: scores, counted days, streaks, the trend, durations in words.

The node's tracker and the `stats` command share them, so a shell and the dashboard agree.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Final

from edge_node.payloads import DayTotals
from edge_node.stats.store import DayRecord
from edge_node.vocabulary import Trend

COUNTED_DAY_S: Final = 1800.0  # good + bad time that makes a day count for streaks and the trend
TREND_DAYS: Final = 7
TREND_MIN_DAYS: Final = 4
TREND_CHANGE_POINTS: Final = 5.0

# Markers kept in the store's meta table.
META_STREAK_DAYS: Final = "streak_days"
META_STREAK_THROUGH: Final = "streak_through"
META_FINALIZED: Final = "finalized_through"
META_SUMMARY_SENT: Final = "summary_sent"
META_NODE: Final = "node_id"


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
    """Whether the day's score reached the goal."""
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
