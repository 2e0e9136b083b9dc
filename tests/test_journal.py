"""The minute journal: day totals written in place between SQLite commits, and read back after a power cut."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge_node.config import AlertsConfig, StatsConfig
from edge_node.stats.journal import (
    JOURNAL_FILE,
    SLOT_BYTES,
    MinuteJournal,
    decode,
    encode,
    merge_days,
    read_journal,
    with_journal,
)
from edge_node.stats.store import FILE_NAME, DayRecord, read_snapshot
from edge_node.stats.tracker import open_tracker
from tests.test_tracker import MONDAY, ZONE, Desk, local, stored_days

TODAY = MONDAY.isoformat()
DAY = DayRecord(TODAY, good_s=1200.5, bad_s=300.25, away_s=60.0, paused_s=0.0, unknown_s=3.0, alerts=2)


def test_a_slot_is_one_block_and_reads_back_exactly() -> None:
    slot = encode(7, {TODAY: DAY})
    assert len(slot) == SLOT_BYTES
    assert decode(slot) == (7, {TODAY: DAY})


def test_only_the_two_newest_days_are_kept() -> None:
    days = {f"2025-06-0{n}": DayRecord(f"2025-06-0{n}", good_s=n) for n in range(1, 6)}
    _, kept = decode(encode(1, days)) or (0, {})
    assert sorted(kept) == ["2025-06-04", "2025-06-05"]


@pytest.mark.parametrize("damage", ["torn", "garbage", "zeros"])
def test_a_damaged_slot_falls_back_to_the_other(tmp_path: Path, damage: str) -> None:
    journal = MinuteJournal(tmp_path / JOURNAL_FILE)
    older = DayRecord(TODAY, good_s=100.0)
    journal.write({TODAY: older})  # sequence 1: slot 1
    journal.write({TODAY: DAY})  # sequence 2: slot 0
    journal.close()
    data = bytearray((tmp_path / JOURNAL_FILE).read_bytes())
    if damage == "torn":
        data[40:60] = b"\0" * 20  # a power cut in the middle of writing slot 0
    elif damage == "garbage":
        data[:SLOT_BYTES] = b"x" * SLOT_BYTES
    else:
        data[:SLOT_BYTES] = bytes(SLOT_BYTES)
    (tmp_path / JOURNAL_FILE).write_bytes(bytes(data))
    assert read_journal(tmp_path / JOURNAL_FILE) == (1, {TODAY: older})


def test_a_missing_or_foreign_file_reads_as_empty(tmp_path: Path) -> None:
    assert read_journal(tmp_path / "absent") == (0, {})
    (tmp_path / "short").write_bytes(b"DPJ1")
    assert read_journal(tmp_path / "short") == (0, {})


def test_writes_alternate_between_two_slots_in_place(tmp_path: Path) -> None:
    journal = MinuteJournal(tmp_path / JOURNAL_FILE)
    for n in range(5):
        journal.write({TODAY: DayRecord(TODAY, good_s=float(n))})
    assert (tmp_path / JOURNAL_FILE).stat().st_size == 2 * SLOT_BYTES
    assert read_journal(tmp_path / JOURNAL_FILE) == (5, {TODAY: DayRecord(TODAY, good_s=4.0)})
    journal.close()
    again = MinuteJournal(tmp_path / JOURNAL_FILE)  # a restart continues the sequence
    again.write({})
    assert read_journal(tmp_path / JOURNAL_FILE) == (6, {})
    again.close()


def test_merging_takes_the_larger_value_of_each_field() -> None:
    held = {TODAY: DayRecord(TODAY, good_s=2000.0, bad_s=100.0, alerts=3)}
    journal = {TODAY: DAY, "2025-06-01": DayRecord("2025-06-01", good_s=5.0)}
    merged = merge_days(held, journal)
    assert merged[TODAY] == DayRecord(TODAY, 2000.0, 300.25, 60.0, 0.0, 3.0, 3)
    assert merged["2025-06-01"].good_s == 5.0
    assert merge_days(merged, journal) == {}  # nothing newer any more


def test_a_power_cut_between_sqlite_commits_loses_at_most_a_minute(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = Desk(tmp_path, local(MONDAY, 9), step=1.0)
    first.spend("good", 3600 + 1500)  # never closed; SQLite last got a batch at 10:00
    in_sqlite = read_snapshot(tmp_path / FILE_NAME).days[TODAY].good_s
    assert in_sqlite <= 3600 + 60
    seen = with_journal(read_snapshot(tmp_path / FILE_NAME), tmp_path / JOURNAL_FILE).days[TODAY].good_s
    assert 3600 + 1500 - 60 <= seen <= 3600 + 1500  # what `deskpulse-edge stats` shows meanwhile
    with caplog.at_level(logging.WARNING):
        survivor = open_tracker(
            node_id="desk",
            alerts=AlertsConfig(timezone=ZONE),
            stats=StatsConfig(),
            data_dir=tmp_path,
            background_writes=False,
            clock=lambda: first.now,
        )
    assert survivor.today(first.now).good_s == seen
    assert any("had newer totals than the database" in r.getMessage() for r in caplog.records)
    assert stored_days(tmp_path)[TODAY].good_s == seen  # written into SQLite at once
    assert read_journal(tmp_path / JOURNAL_FILE)[1] == {}  # and the journal emptied
    survivor.close(first.now)


def test_a_clean_stop_leaves_an_empty_journal(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 9), step=1.0)
    desk.spend("bad", 600)
    desk.close()
    assert read_journal(tmp_path / JOURNAL_FILE)[1] == {}
    assert stored_days(tmp_path)[TODAY].bad_s == 600.0
