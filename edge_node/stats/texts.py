"""The words of the tracker's events: what a person reads in the dashboard, Home Assistant or a shell.

Each function builds one `Event` with its message and the numbers behind it in `details`.
"""

from __future__ import annotations

from typing import Final

from edge_node.payloads import DayTotals, Event
from edge_node.stats.alerts import AlertOutcome
from edge_node.stats.rules import day_totals, format_duration
from edge_node.stats.store import Achievement, DayRecord

ACHIEVEMENTS: Final[dict[str, str]] = {
    "first_goal_day": "First day at your goal",
    "streak_3": "3 days in a row at your goal",
    "streak_7": "7 days in a row at your goal",
    "streak_30": "30 days in a row at your goal",
    "alert_free_day": "A desk day of 4 hours or more without an alert",
    "good_hour": "An hour of good posture without a bad moment",
}


def _event(node: str, event_type: str, message: str, now: float, details: dict[str, object]) -> Event:
    return Event(node=node, event_type=event_type, ts=now, message=message, details=details)


def alert_event(
    node: str,
    outcome: AlertOutcome,
    now: float,
    *,
    alert_s: float,
    cooldown_s: float,
    grace_s: float,
    alerts_today: int,
) -> Event:
    """`posture_alert`, `posture_corrected` or `alert_cleared`."""
    bad = format_duration(outcome.bad_s)
    details: dict[str, object] = {
        "bad_s": outcome.bad_s,
        "episode_s": outcome.episode_s,
        "alerts": outcome.alerts,
    }
    if outcome.kind == "posture_alert":
        message = f"bad posture for {bad}: time to sit up or take a break"
        details |= {
            "alert_s": round(alert_s, 1),
            "cooldown_s": round(cooldown_s, 1),
            "alerts_today": alerts_today,
        }
    elif outcome.kind == "posture_corrected":
        message = f"posture corrected after {bad} of bad posture"
    else:
        message = f"alert cleared: {outcome.interrupted_by} for {grace_s:g} s or more"
        details["interrupted_by"] = outcome.interrupted_by
    return _event(node, outcome.kind, message, now, details)


def streak_event(
    node: str, day: str, day_score: float | None, goal: float, *, before: int, after: int, now: float
) -> Event | None:
    """A streak extended by a finished day, or ended by it (None when there was none to end)."""
    details: dict[str, object] = {"date": day, "score": day_score, "goal": goal}
    shown = f"{day_score:.1f} %" if day_score is not None else "-"
    if after > 0:
        noun = "day" if after == 1 else "days"
        return _event(
            node,
            "streak",
            f"{day}: {shown}, goal met; streak {after} {noun}",
            now,
            details | {"status": "extended", "streak_days": after},
        )
    if before <= 0:
        return None
    return _event(
        node,
        "streak",
        f"{day}: {shown} is below the {goal:g} % goal; the streak of {before} days ended",
        now,
        details | {"status": "ended", "streak_days": 0, "previous_streak_days": before},
    )


def achievement_event(node: str, award: Achievement, now: float) -> Event:
    """`achievement`, once per achievement."""
    return _event(
        node, "achievement", award.title, now, {"id": award.id, "title": award.title, "date": award.date}
    )


def summary_event(
    node: str, record: DayRecord, before: DayTotals | None, *, goal: float, streak_days: int, now: float
) -> Event:
    """`daily_summary`: the day's score, times and alerts, against the day before with data."""
    totals = day_totals(record)
    change = (
        round(totals.score - before.score, 1)
        if before is not None and before.score is not None and totals.score is not None
        else None
    )
    message = (
        f"{record.date}: {totals.score:.1f} % good posture ({format_duration(record.good_s)} good, "
        f"{format_duration(record.bad_s)} bad, {record.alerts} alert{'' if record.alerts == 1 else 's'})"
    )
    if before is not None and change is not None:
        message += f"; {change:+.1f} points vs {before.date} ({before.score:.1f} %)"
    details: dict[str, object] = totals.model_dump(exclude={"v"}) | {
        "goal": goal,
        "goal_met": totals.score is not None and totals.score >= goal,
        "streak_days": streak_days,
        "previous": before.model_dump(exclude={"v"}) if before else None,
        "score_change": change,
    }
    return _event(node, "daily_summary", message, now, details)
