"""`deskpulse-edge stats` for a shell user, and the store under the real daemon (kill, restart)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from edge_node.cli import main
from edge_node.config import AlertsConfig, StatsConfig
from edge_node.payloads import Stats
from edge_node.stats.journal import JOURNAL_FILE, with_journal
from edge_node.stats.store import FILE_NAME, StoreError, read_snapshot
from edge_node.stats.tracker import open_tracker
from edge_node.vocabulary import Posture
from tests.support import ROOT, Daemon, Watcher, free_port, wait_port, wait_until

UTC_ENV = {"DESKPULSE_ALERTS__TIMEZONE": "UTC"}


def utc_today() -> datetime:
    return datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def fill(data_dir: Path, script: list[tuple[int, list[tuple[Posture, int]]]]) -> None:
    """Run a real tracker (UTC days) through `script`: (days before today, [(posture, seconds)])."""
    clock = [0.0]
    tracker = open_tracker(
        node_id="desk-7",
        alerts=AlertsConfig(timezone="UTC"),
        stats=StatsConfig(),
        data_dir=data_dir,
        clock=lambda: clock[0],
        background_writes=False,
    )
    for back, segments in script:
        clock[0] = (utc_today() - timedelta(days=back)).timestamp() + 9 * 3600
        for posture, seconds in segments:
            tracker.observe(posture, clock[0])
            for _ in range(seconds // 10):
                clock[0] += 10
                tracker.observe(posture, clock[0])
    tracker.close(clock[0])


WEEK: list[tuple[int, list[tuple[Posture, int]]]] = [
    (6, [("good", 3 * 3600), ("bad", 3600)]),  # 75 %
    (5, [("good", 2 * 3600), ("bad", 3600), ("away", 1800)]),  # 66.7 %
    (3, [("good", 4 * 3600), ("bad", 1800)]),  # 88.9 %
    (2, [("good", 4 * 3600), ("bad", 1200), ("paused", 600)]),  # 92.3 %
    (1, [("good", 5 * 3600), ("bad", 600), ("unknown", 60)]),  # 96.8 %
]


def run_stats(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["stats", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_lists_the_days_ending_today_with_their_totals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKPULSE_ALERTS__TIMEZONE", "UTC")
    fill(tmp_path, WEEK)
    code, out, _ = run_stats(capsys, "--data-dir", str(tmp_path), "--json", "--days", "4")
    assert code == 0
    report = json.loads(out)
    today = utc_today().date()
    assert [d["date"] for d in report["days"]] == [
        (today - timedelta(days=b)).isoformat() for b in (3, 2, 1, 0)
    ]
    by_date = {d["date"]: d for d in report["days"]}
    two_days_ago = by_date[(today - timedelta(days=2)).isoformat()]
    assert (two_days_ago["good_s"], two_days_ago["bad_s"], two_days_ago["paused_s"]) == (
        14400.0,
        1200.0,
        600.0,
    )
    assert two_days_ago["score"] == 92.3
    assert by_date[today.isoformat()]["score"] is None  # nothing yet today
    assert report["total"]["days_with_data"] == 3
    assert report["total"]["good_s"] == (4 + 4 + 5) * 3600
    assert report["total"]["score"] == round(100 * 13 * 3600 / (13 * 3600 + 3600), 1)
    assert report["node"] == "desk-7"
    assert report["timezone"] == "UTC"
    # Counted days before today: 75, 66.7 | 88.9 | 92.3, 96.8 → (92.3 + 96.8) / 2 - (75 + 66.7) / 2.
    assert report["trend"] == "improving"
    assert "+23.7 points" in report["trend_rule"]
    # Missed five days ago, a rest day, then three goal days (yesterday's not yet closed by the node).
    assert report["streak_days"] == 3
    assert [a["id"] for a in report["achievements"]] == ["good_hour", "first_goal_day"]


def test_the_table_shows_hours_and_minutes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKPULSE_ALERTS__TIMEZONE", "UTC")
    fill(tmp_path, [*WEEK[-2:], (0, [("good", 1800), ("bad", 300)])])
    code, out, _ = run_stats(capsys, "--data-dir", str(tmp_path), "--days", "3")
    assert code == 0
    today = utc_today().date()
    lines = out.splitlines()
    assert lines[0] == f"DeskPulse stats for node 'desk-7': 3 days to {today} (time zone UTC, goal 80 %)"
    rows = {line.split()[0]: line.split() for line in lines[3:6]}
    assert rows[(today - timedelta(days=2)).isoformat()][1:] == [
        "4:00",
        "0:20",
        "0:00",
        "0:10",
        "0:00",
        "92",
        "%",
        "3",
    ]
    assert rows[(today - timedelta(days=1)).isoformat()][1:] == [
        "5:00",
        "0:10",
        "0:00",
        "0:00",
        "0:01",
        "97",
        "%",
        "1",
    ]
    assert rows[today.isoformat()][-3:] == ["(today,", "so", "far)"]
    assert lines[6].split()[:3] == ["total", "9:30", "0:35"]
    assert "streak        2 days at or above 80 %" in out


def test_a_missing_store_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_stats(capsys, "--data-dir", str(tmp_path))
    assert code == 1
    assert out == ""
    assert "no statistics yet" in err and str(tmp_path / FILE_NAME) in err


def test_a_damaged_store_is_reported_and_left_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = b"not a database at all" * 100
    (tmp_path / FILE_NAME).write_bytes(damaged)
    code, _, err = run_stats(capsys, "--data-dir", str(tmp_path))
    assert code == 1
    assert "cannot read" in err
    assert (tmp_path / FILE_NAME).read_bytes() == damaged
    assert list(tmp_path.glob("*.corrupt-*")) == []  # only the node moves a store aside


@pytest.mark.parametrize("days", ["0", "abc", "4000"])
def test_bad_days_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], days: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["stats", "--data-dir", str(tmp_path), "--days", days])
    assert exited.value.code == 2
    assert "must be a whole number from 1 to 3650" in capsys.readouterr().err


@pytest.mark.slow
def test_the_daemon_keeps_its_totals_through_a_kill_and_a_restart(
    tmp_path: Path,
    photos: dict[str, Path],
    daemon_factory: Callable[..., Daemon],
    watcher_factory: Callable[..., Watcher],
) -> None:
    """The real daemon writes the store; a shell reads it meanwhile; SIGKILL loses nothing written."""
    data_dir = tmp_path / "data"

    def start(name: str) -> tuple[Daemon, Watcher]:
        port = free_port()
        daemon = daemon_factory(
            "--source", str(photos["astronaut"]), "--loop", "--node-id", "stats1",
            "--data-dir", str(data_dir), "--mqtt-port", str(port), "--ws-port", str(free_port()),
            "--http-port", str(free_port()), env={**UTC_ENV, "DESKPULSE_STATS__FLUSH_INTERVAL_S": "5"},
            name=name,
        )  # fmt: skip
        wait_port(port, 90)
        return daemon, watcher_factory(port, ("deskpulse/stats1/stats", "deskpulse/stats1/history"))

    def stored_today() -> float:
        try:
            stored = with_journal(read_snapshot(data_dir / FILE_NAME), data_dir / JOURNAL_FILE)
            day = stored.days.get(utc_today().date().isoformat())
        except StoreError:
            return 0.0
        return 0.0 if day is None else day.good_s + day.bad_s + day.away_s + day.unknown_s

    daemon, watcher = start("first")
    watcher.wait_connected()
    stats = Stats.model_validate_json(watcher.wait_for("deskpulse/stats1/stats", timeout=60).payload)
    assert stats.today.date == utc_today().date().isoformat()
    history = json.loads(watcher.wait_for("deskpulse/stats1/history", timeout=60).payload)
    assert [d["date"] for d in history["days"]][-1] == stats.today.date
    assert len(history["days"]) == 7

    wait_until(lambda: stored_today() >= 6.0, timeout=90, interval=0.5, what="6 s of posture time stored")
    shell = subprocess.run(
        [sys.executable, "-m", "edge_node", "stats", "--json", "--days", "1", "--data-dir", str(data_dir)],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("DESKPULSE_")}, **UTC_ENV},
    )
    assert shell.returncode == 0, shell.stderr
    shown = json.loads(shell.stdout)
    assert shown["node"] == "stats1"
    assert shown["total"]["days_with_data"] == 1
    assert daemon.alive()  # the shell read while the node was writing

    daemon.kill()  # SIGKILL: no close and no last flush, like a power cut
    kept = stored_today()
    assert kept >= 6.0

    _, again = start("second")
    again.wait_connected()
    restarted = Stats.model_validate_json(again.wait_for("deskpulse/stats1/stats", timeout=60).payload)
    today = restarted.today
    # The published totals are rounded to 0.1 s each: four of them can lose up to 0.2 s together.
    assert today.good_s + today.bad_s + today.away_s + today.unknown_s >= kept - 0.2 - 1e-9
