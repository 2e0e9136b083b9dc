"""The stats store against real SQLite files: WAL, migrations, pruning, damage and failed writes."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from edge_node.stats.store import (
    FILE_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    Achievement,
    Batch,
    DayRecord,
    SchemaTooNewError,
    StatsStore,
    StoreError,
    error_kind,
    read_snapshot,
)
from edge_node.stats.writer import StatsWriter


def day(date: str, good: float = 100.0, bad: float = 20.0, alerts: int = 0) -> DayRecord:
    return DayRecord(date, good_s=good, bad_s=bad, away_s=5.0, paused_s=1.0, unknown_s=0.5, alerts=alerts)


def pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def test_a_new_store_is_wal_with_the_current_schema(tmp_path: Path) -> None:
    store = StatsStore(tmp_path / FILE_NAME)
    store.write(Batch(days={"2025-06-02": day("2025-06-02")}, meta={"node_id": "desk"}))
    assert pragma(tmp_path / FILE_NAME, "journal_mode") == "wal"
    assert pragma(tmp_path / FILE_NAME, "user_version") == SCHEMA_VERSION == len(MIGRATIONS)
    assert not store.in_memory
    snapshot = store.snapshot()
    assert snapshot.days == {"2025-06-02": day("2025-06-02")}
    assert snapshot.meta == {"node_id": "desk"}
    store.close()


def test_rows_are_upserted_with_absolute_values(tmp_path: Path) -> None:
    store = StatsStore(tmp_path / FILE_NAME)
    store.write(Batch(days={"2025-06-02": day("2025-06-02", good=10)}))
    store.write(Batch(days={"2025-06-02": day("2025-06-02", good=25)}, meta={"a": "1"}))
    store.write(Batch(meta={"a": "2"}))
    award = Achievement("good_hour", "An hour", "2025-06-02", 1.0)
    store.write(Batch(achievements={"good_hour": award}))
    store.write(Batch(achievements={"good_hour": Achievement("good_hour", "again", "2025-06-03", 2.0)}))
    snapshot = store.snapshot()
    assert snapshot.days["2025-06-02"].good_s == 25.0
    assert snapshot.meta == {"a": "2"}
    assert snapshot.achievements == {"good_hour": award}  # awarded once: the first stays
    assert store.commits == 5
    store.close()


def test_batches_merge_newest_first() -> None:
    older = Batch(
        days={"d1": day("d1", good=1), "d2": day("d2")}, meta={"k": "old"}, prune_before="2025-01-01"
    )
    older.merge(Batch(days={"d1": day("d1", good=2)}, meta={"k": "new"}, prune_before="2025-02-01"))
    assert older.days["d1"].good_s == 2.0
    assert set(older.days) == {"d1", "d2"}
    assert older.meta == {"k": "new"}
    assert older.prune_before == "2025-02-01"
    assert not Batch()


def test_a_migration_is_applied_once_and_keeps_the_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / FILE_NAME
    StatsStore(path).write(Batch(days={"2025-06-02": day("2025-06-02")}))
    extra = (*MIGRATIONS, ("ALTER TABLE days ADD COLUMN focus_s REAL NOT NULL DEFAULT 0",))
    with caplog.at_level(logging.INFO):
        migrated = StatsStore(path, migrations=extra)
    assert pragma(path, "user_version") == SCHEMA_VERSION + 1
    assert any(f"migrated to schema version {SCHEMA_VERSION + 1}" in r.getMessage() for r in caplog.records)
    assert migrated.snapshot().days["2025-06-02"] == day("2025-06-02")
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT focus_s FROM days").fetchall() == [(0.0,)]
    conn.close()
    caplog.clear()
    StatsStore(path, migrations=extra)
    assert not any("migrated" in r.getMessage() for r in caplog.records)


def test_a_failed_migration_is_rolled_back_and_the_file_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / FILE_NAME
    first = StatsStore(path)
    first.write(Batch(days={"2025-06-02": day("2025-06-02")}))
    first.close()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (text TEXT)")  # a table someone added by hand
    conn.close()
    clashing = (*MIGRATIONS, ("CREATE TABLE focus (id INTEGER)", "CREATE TABLE notes (id INTEGER)"))
    store = StatsStore(path, migrations=clashing)
    assert store.in_memory
    assert any("migration to schema 2 failed" in r.getMessage() for r in caplog.records)
    assert pragma(path, "user_version") == SCHEMA_VERSION
    conn = sqlite3.connect(path)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert "focus" not in tables  # the whole step was rolled back
    store.write(Batch(days={"2025-06-03": day("2025-06-03")}))  # memory still works
    assert set(store.snapshot().days) == {"2025-06-03"}
    assert set(read_snapshot(path).days) == {"2025-06-02"}


def test_a_store_from_a_newer_version_is_not_touched(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / FILE_NAME
    StatsStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = path.read_bytes()
    store = StatsStore(path)
    assert store.in_memory
    store.write(Batch(days={"2025-06-02": day("2025-06-02")}))
    store.close()
    assert path.read_bytes() == before
    assert list(tmp_path.glob("*.corrupt-*")) == []
    assert any("schema version 99 is newer than this version knows" in r.getMessage() for r in caplog.records)
    with pytest.raises(SchemaTooNewError, match="newer than this version knows"):
        read_snapshot(path)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "directory"])
def test_an_unreadable_file_is_moved_aside_and_a_fresh_one_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    path = tmp_path / FILE_NAME
    if damage == "garbage":
        path.write_bytes(bytes(range(256)) * 64)
    elif damage == "truncated":
        store = StatsStore(path)
        store.write(
            Batch(days={f"2024-{m:02d}-{d:02d}": day("x") for m in range(1, 13) for d in range(1, 29)})
        )
        store.close()
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.mkdir()
    with caplog.at_level(logging.ERROR):
        store = StatsStore(path)
    assert not store.in_memory
    assert store.generation == 1
    aside = list(tmp_path.glob(f"{FILE_NAME}.corrupt-*"))
    assert len(aside) == 1
    message = next(r.getMessage() for r in caplog.records if "is unreadable" in r.getMessage())
    assert str(aside[0]) in message and "started a fresh one" in message
    store.write(Batch(days={"2025-06-02": day("2025-06-02")}))
    store.close()
    assert set(read_snapshot(path).days) == {"2025-06-02"}


def test_a_healthy_file_that_cannot_be_opened_is_not_moved_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / FILE_NAME
    first = StatsStore(path)
    first.write(Batch(days={"2025-06-02": day("2025-06-02")}))
    first.close()
    (tmp_path / f"{FILE_NAME}-wal").mkdir()  # SQLite cannot open the WAL beside it: SQLITE_CANTOPEN
    store = StatsStore(path)
    assert store.in_memory
    assert list(tmp_path.glob("*.corrupt-*")) == []
    assert any("the file is left as it is" in r.getMessage() for r in caplog.records)
    (tmp_path / f"{FILE_NAME}-wal").rmdir()
    assert set(read_snapshot(path).days) == {"2025-06-02"}


def test_reading_a_closed_store_leaves_no_files_behind(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    store = StatsStore(path)
    store.write(Batch(days={"2025-06-02": day("2025-06-02")}))
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILE_NAME]
    assert set(read_snapshot(path).days) == {"2025-06-02"}
    # No -wal/-shm owned by the reader, which could keep the node's own user out later.
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILE_NAME]


def test_with_no_usable_data_dir_the_statistics_live_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = StatsStore(blocker / "sub" / FILE_NAME)
    assert store.in_memory
    assert any("kept in memory only" in r.getMessage() for r in caplog.records)
    store.write(Batch(days={"2025-06-02": day("2025-06-02")}))
    assert store.snapshot().days["2025-06-02"] == day("2025-06-02")


def test_pruning_summarises_old_days_by_month_and_adds_up(tmp_path: Path) -> None:
    store = StatsStore(tmp_path / FILE_NAME)
    days = ["2025-03-30", "2025-03-31", "2025-04-01", "2025-04-02"]
    store.write(Batch(days={d: day(d, alerts=1) for d in days}, prune_before="2025-04-01"))
    store.write(Batch(prune_before="2025-04-02"))
    snapshot = store.snapshot()
    assert set(snapshot.days) == {"2025-04-02"}
    assert [(m.month, m.days, m.good_s, m.bad_s, m.alerts) for m in snapshot.months] == [
        ("2025-03", 2, 200.0, 40.0, 2),
        ("2025-04", 1, 100.0, 20.0, 1),
    ]
    store.close()


def test_the_cli_reader_sees_committed_rows_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    store = StatsStore(path)
    store.write(Batch(days={"2025-06-02": day("2025-06-02")}))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE days SET good_s = 999")
    snapshot = read_snapshot(path)  # WAL: readers do not wait for the writer
    writer.execute("ROLLBACK")
    writer.close()
    assert snapshot.days["2025-06-02"].good_s == 100.0
    assert snapshot.schema == SCHEMA_VERSION
    store.close()


def test_reading_a_missing_store_says_so(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no statistics yet"):
        read_snapshot(tmp_path / FILE_NAME)


def test_a_failed_write_keeps_its_rows_for_the_next_attempt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / FILE_NAME
    store = StatsStore(path, busy_timeout_s=0.05)
    writer = StatsWriter(store, background=False)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock: "database is locked"
    writer.submit(Batch(days={"2025-06-02": day("2025-06-02", good=1)}))
    writer.submit(Batch(days={"2025-06-03": day("2025-06-03")}))
    assert writer.failing
    errors = [r for r in caplog.records if "cannot write the stats database" in r.getMessage()]
    assert len(errors) == 1  # logged once, not once per batch
    assert list(tmp_path.glob("*.corrupt-*")) == []  # a lock is no corruption
    blocker.execute("ROLLBACK")
    blocker.close()
    caplog.set_level(logging.INFO)
    writer.submit(Batch(days={"2025-06-02": day("2025-06-02", good=2)}))
    assert not writer.failing
    assert {d: r.good_s for d, r in read_snapshot(path).days.items()} == {
        "2025-06-02": 2.0,
        "2025-06-03": 100.0,
    }
    assert any("writable again" in r.getMessage() for r in caplog.records)
    writer.close()
    store.close()


def test_the_writer_thread_writes_what_was_submitted_before_close(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    store = StatsStore(path)
    writer = StatsWriter(store)
    for good in range(50):
        writer.submit(Batch(days={"2025-06-02": day("2025-06-02", good=float(good))}))
    writer.close()
    store.close()
    assert read_snapshot(path).days["2025-06-02"].good_s == 49.0


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (sqlite3.DatabaseError("file is not a database"), "corrupt"),
        (sqlite3.DatabaseError("database disk image is malformed"), "corrupt"),
        (sqlite3.OperationalError("database is locked"), "other"),
        (sqlite3.OperationalError("database or disk is full"), "other"),
    ],
)
def test_errors_are_told_apart_by_message_where_no_code_is_given(error: sqlite3.Error, kind: str) -> None:
    assert error_kind(error) == kind
