"""Stats: print the daily posture history from the stats store (safe while the node runs)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict

from edge_node.cli.common import add_config_arguments, config_from_args
from edge_node.payloads import DayTotals
from edge_node.stats.days import calendar_for
from edge_node.stats.journal import JOURNAL_FILE, with_journal
from edge_node.stats.rules import (
    META_FINALIZED,
    META_NODE,
    META_STREAK_DAYS,
    META_STREAK_THROUGH,
    day_totals,
    is_counted,
    next_streak,
    trend,
)
from edge_node.stats.store import FILE_NAME, DayRecord, Snapshot, StoreError, read_snapshot
from edge_node.vocabulary import Trend

MAX_DAYS = 3650


class Report(BaseModel):
    """Base of the `stats --json` output: strict about unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PeriodTotals(Report):
    """The sums over the days shown."""

    first: str
    last: str
    days_with_data: int
    good_s: float
    bad_s: float
    away_s: float
    paused_s: float
    unknown_s: float
    score: float | None
    alerts: int


class AchievementLine(Report):
    """An achievement and the day it was awarded."""

    id: str
    title: str
    date: str


class MonthLine(Report):
    """Totals of a month whose days are past the retention."""

    month: str
    days: int
    good_s: float
    bad_s: float
    away_s: float
    score: float | None
    alerts: int


class StatsReport(Report):
    """What `deskpulse-edge stats` prints."""

    node: str
    timezone: str
    today: str
    goal: float
    days: tuple[DayTotals, ...]
    total: PeriodTotals
    trend: Trend
    trend_rule: str
    streak_days: int
    streak_through: str | None
    achievements: tuple[AchievementLine, ...]
    months: tuple[MonthLine, ...]


def _days_argument(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_DAYS}, not {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--days`, `--json` and the config flags."""
    parser.add_argument(
        "--days", type=_days_argument, default=7, metavar="N", help="days to show, ending today (default 7)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_config_arguments(parser)


def main(args: argparse.Namespace) -> int:
    """Print the history from the node's stats store."""
    config = config_from_args(args)
    path = config.data_dir / FILE_NAME
    try:
        # The minute journal beside it holds the last minutes not yet in the database.
        snapshot = with_journal(read_snapshot(path), config.data_dir / JOURNAL_FILE)
    except StoreError as exc:
        print(f"deskpulse-edge stats: {exc}", file=sys.stderr)
        return 1
    calendar = calendar_for(config.alerts.timezone)
    report = build_report(
        snapshot,
        today=calendar.date_of(time.time()),
        days=args.days,
        goal=config.stats.goal,
        node=snapshot.meta.get(META_NODE, config.node_id),
        timezone=calendar.name,
    )
    print(report.model_dump_json(indent=2) if args.json else render(report))
    return 0


def build_report(
    snapshot: Snapshot, *, today: date, days: int, goal: float, node: str, timezone: str
) -> StatsReport:
    """The last `days` days ending `today`, with the trend, streak, achievements and old months."""
    dates = [(today - timedelta(days=back)).isoformat() for back in range(days - 1, -1, -1)]
    shown = [snapshot.days.get(day) or DayRecord(day) for day in dates]
    total = DayRecord(
        f"{dates[0]}..{dates[-1]}",
        good_s=sum(r.good_s for r in shown),
        bad_s=sum(r.bad_s for r in shown),
        away_s=sum(r.away_s for r in shown),
        paused_s=sum(r.paused_s for r in shown),
        unknown_s=sum(r.unknown_s for r in shown),
        alerts=sum(r.alerts for r in shown),
    )
    summed = day_totals(total)
    verdict, rule = trend(snapshot.days, today)
    streak, streak_through = live_streak(snapshot, today, goal)
    return StatsReport(
        node=node,
        timezone=timezone,
        today=today.isoformat(),
        goal=goal,
        days=tuple(day_totals(r) for r in shown),
        total=PeriodTotals(
            first=dates[0],
            last=dates[-1],
            days_with_data=sum(1 for day in dates if day in snapshot.days),
            **summed.model_dump(exclude={"v", "date"}),
        ),
        trend=verdict,
        trend_rule=rule,
        streak_days=streak,
        streak_through=streak_through,
        achievements=tuple(
            AchievementLine(id=a.id, title=a.title, date=a.date)
            for a in sorted(snapshot.achievements.values(), key=lambda a: (a.date, a.ts))
        ),
        months=tuple(
            MonthLine(
                month=m.month,
                days=m.days,
                good_s=round(m.good_s, 1),
                bad_s=round(m.bad_s, 1),
                away_s=round(m.away_s, 1),
                score=day_totals(DayRecord(m.month, m.good_s, m.bad_s)).score,
                alerts=m.alerts,
            )
            for m in snapshot.months
        ),
    )


def live_streak(snapshot: Snapshot, today: date, goal: float) -> tuple[int, str | None]:
    """The node's streak, continued over finished days it has not closed yet (it was not running)."""
    streak = int(snapshot.meta.get(META_STREAK_DAYS, "0"))
    through = snapshot.meta.get(META_STREAK_THROUGH)
    closed = snapshot.meta.get(META_FINALIZED, "")
    for day in sorted(d for d in snapshot.days if closed < d < today.isoformat()):
        record = snapshot.days[day]
        if is_counted(record):
            streak, through = next_streak(streak, record, goal), day
    return streak, through


def _hm(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} %"


def render(report: StatsReport) -> str:
    """The report as a table for a shell (durations in h:mm)."""
    lines = [
        f"DeskPulse stats for node '{report.node}': {len(report.days)} days to {report.today} "
        f"(time zone {report.timezone}, goal {report.goal:g} %)",
        "",
        f"{'date':<12}{'good':>7}{'bad':>7}{'away':>7}{'paused':>8}{'unknown':>9}{'score':>7}{'alerts':>8}",
    ]
    for day in report.days:
        if day.good_s + day.bad_s + day.away_s + day.paused_s + day.unknown_s == 0:
            lines.append(f"{day.date:<12}{'-':>7}")
            continue
        lines.append(
            f"{day.date:<12}{_hm(day.good_s):>7}{_hm(day.bad_s):>7}{_hm(day.away_s):>7}"
            f"{_hm(day.paused_s):>8}{_hm(day.unknown_s):>9}{_score(day.score):>7}{day.alerts:>8}"
            + ("  (today, so far)" if day.date == report.today else "")
        )
    t = report.total
    lines += [
        f"{'total':<12}{_hm(t.good_s):>7}{_hm(t.bad_s):>7}{_hm(t.away_s):>7}{_hm(t.paused_s):>8}"
        f"{_hm(t.unknown_s):>9}{_score(t.score):>7}{t.alerts:>8}",
        "",
        f"trend         {report.trend}: {report.trend_rule}",
    ]
    if report.streak_through:
        lines.append(
            f"streak        {report.streak_days} days at or above {report.goal:g} % "
            f"(days up to {report.streak_through})"
        )
    else:
        lines.append("streak        none yet")
    if report.achievements:
        for index, award in enumerate(report.achievements):
            label = "achievements" if index == 0 else ""
            lines.append(f"{label:<14}{award.date}  {award.title}")
    else:
        lines.append("achievements  none yet")
    for index, month in enumerate(report.months):
        label = "earlier" if index == 0 else ""
        lines.append(
            f"{label:<14}{month.month}  {month.days} days  good {_hm(month.good_s)}  bad {_hm(month.bad_s)}"
            f"  score {_score(month.score)}  alerts {month.alerts}"
        )
    return "\n".join(lines)
