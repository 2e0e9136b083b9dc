"""The statistics store: one SQLite file (WAL) in the data dir, written in batches on a named thread.

It holds seconds per state per local day, monthly totals of days older than the retention, the
achievements awarded and a few markers (streak, last finalised day, last daily summary). The schema
has a version (`PRAGMA user_version`) and ordered migrations. A corrupt or unreadable file is moved
aside with an error log line and a fresh one is started; when no file can be used at all the
statistics live in memory and the node keeps running.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Final

from edge_node.errors import EdgeNodeError

log = logging.getLogger(__name__)

FILE_NAME: Final = "stats.sqlite3"
BUSY_TIMEOUT_S: Final = 5.0
JOURNAL_SIZE_LIMIT: Final = 4 * 1024 * 1024

# Migration N (1-based) brings the file from user_version N-1 to N. Append, never edit a released one.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE days (
            date TEXT PRIMARY KEY,
            good_s REAL NOT NULL DEFAULT 0,
            bad_s REAL NOT NULL DEFAULT 0,
            away_s REAL NOT NULL DEFAULT 0,
            paused_s REAL NOT NULL DEFAULT 0,
            unknown_s REAL NOT NULL DEFAULT 0,
            alerts INTEGER NOT NULL DEFAULT 0,
            updated_at REAL NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE months (
            month TEXT PRIMARY KEY,
            days INTEGER NOT NULL,
            good_s REAL NOT NULL,
            bad_s REAL NOT NULL,
            away_s REAL NOT NULL,
            paused_s REAL NOT NULL,
            unknown_s REAL NOT NULL,
            alerts INTEGER NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE achievements (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            date TEXT NOT NULL,
            ts REAL NOT NULL
        ) WITHOUT ROWID""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_CORRUPT = 11
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26
SQLITE_HEADER = b"SQLite format 3\x00"
_CORRUPT_WORDS = ("malformed", "not a database", "unable to open database file")


class StoreError(EdgeNodeError):
    """The store cannot be read; `str()` is one line for a person."""


class SchemaTooNewError(StoreError):
    """The file was written by a newer version (a higher schema than this code knows)."""


class MigrationError(StoreError):
    """A migration failed and was rolled back."""


class CorruptError(StoreError):
    """SQLite's integrity check failed."""


@dataclass(frozen=True)
class DayRecord:
    """Seconds per state and alerts on one local day (date YYYY-MM-DD)."""

    date: str
    good_s: float = 0.0
    bad_s: float = 0.0
    away_s: float = 0.0
    paused_s: float = 0.0
    unknown_s: float = 0.0
    alerts: int = 0


@dataclass(frozen=True)
class MonthRecord:
    """Totals of the days of one month (YYYY-MM) that were older than the retention."""

    month: str
    days: int
    good_s: float
    bad_s: float
    away_s: float
    paused_s: float
    unknown_s: float
    alerts: int


@dataclass(frozen=True)
class Achievement:
    """An achievement, awarded once."""

    id: str
    title: str
    date: str
    ts: float


@dataclass
class Batch:
    """Rows to write in one transaction. Values are absolute, so a newer batch simply replaces an older."""

    days: dict[str, DayRecord] = field(default_factory=dict)
    achievements: dict[str, Achievement] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    prune_before: str | None = None

    def merge(self, newer: Batch) -> None:
        """Fold a newer batch into this one (bounded: keyed by day, achievement and marker)."""
        self.days.update(newer.days)
        self.achievements.update(newer.achievements)
        self.meta.update(newer.meta)
        if newer.prune_before is not None:
            self.prune_before = max(self.prune_before or "", newer.prune_before)

    def __bool__(self) -> bool:
        return bool(self.days or self.achievements or self.meta or self.prune_before)


@dataclass(frozen=True)
class Snapshot:
    """Everything in the store."""

    days: dict[str, DayRecord]
    months: tuple[MonthRecord, ...]
    achievements: dict[str, Achievement]
    meta: dict[str, str]
    schema: int


_DAY_COLUMNS: Final = tuple(f.name for f in fields(DayRecord))
_MONTH_COLUMNS: Final = tuple(f.name for f in fields(MonthRecord))
_UPSERT_DAY: Final = (
    f"INSERT INTO days ({', '.join(_DAY_COLUMNS)}, updated_at) "
    f"VALUES ({', '.join('?' * (len(_DAY_COLUMNS) + 1))}) ON CONFLICT(date) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*_DAY_COLUMNS[1:], "updated_at"))
)
_UPSERT_META: Final = (
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
)


def error_kind(exc: BaseException) -> str:
    """`corrupt` (move the file aside), or `other` (keep the file, retry later)."""
    if isinstance(exc, CorruptError):
        return "corrupt"
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if isinstance(code, int):
        return "corrupt" if code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB, _SQLITE_CANTOPEN) else "other"
    text = str(exc).lower()
    return "corrupt" if any(word in text for word in _CORRUPT_WORDS) else "other"


def _is_cantopen(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if isinstance(code, int):
        return code & 0xFF == _SQLITE_CANTOPEN
    return "unable to open database file" in str(exc).lower()


def _healthy_but_unopenable(path: Path, exc: BaseException) -> bool:
    """SQLITE_CANTOPEN on a readable SQLite file: a problem beside it (e.g. a -shm file owned by
    another user), not damage, so the file must not be moved aside."""
    if not _is_cantopen(exc):
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(16) == SQLITE_HEADER
    except OSError:
        return False


def describe(exc: BaseException) -> str:
    """An SQLite error in words, with its code name where Python gives it."""
    name = getattr(exc, "sqlite_errorname", None)
    return f"{exc} ({name})" if name else str(exc) or type(exc).__name__


def _configure(conn: sqlite3.Connection, *, busy_timeout_s: float) -> None:
    """WAL, durable commits, a bounded WAL file; raise CorruptError when the integrity check fails."""
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        log.warning("the file system refused WAL mode for the stats database (journal mode %s)", mode)
    # FULL syncs the WAL at every commit: a power loss costs at most the last batch, not every
    # commit since the last checkpoint (NORMAL's trade).
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
    rows = conn.execute("PRAGMA quick_check").fetchall()
    if rows != [("ok",)]:
        raise CorruptError(f"integrity check failed: {'; '.join(str(r[0]) for r in rows[:3])}")


def migrate(conn: sqlite3.Connection, migrations: Sequence[Sequence[str]], *, where: str) -> int:
    """Bring the schema up to `len(migrations)`, one transaction per step; return the version."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(migrations):
        raise SchemaTooNewError(
            f"schema version {version} is newer than this version knows ({len(migrations)})"
        )
    for number in range(version, len(migrations)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in migrations[number]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise MigrationError(f"migration to schema {number + 1} failed: {exc}") from exc
        if version > 0:
            log.info("%s migrated to schema version %d", where, number + 1)
    return len(migrations)


def _read(conn: sqlite3.Connection, schema: int) -> Snapshot:
    days = {
        row[0]: DayRecord(row[0], *row[1:])
        for row in conn.execute(f"SELECT {', '.join(_DAY_COLUMNS)} FROM days ORDER BY date")
    }
    months = tuple(
        MonthRecord(*row)
        for row in conn.execute(f"SELECT {', '.join(_MONTH_COLUMNS)} FROM months ORDER BY month")
    )
    achievements = {
        row[0]: Achievement(*row) for row in conn.execute("SELECT id, title, date, ts FROM achievements")
    }
    meta = {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM meta")}
    return Snapshot(days, months, achievements, meta, schema)


def read_snapshot(path: Path) -> Snapshot:
    """Read a store without changing it (safe while the node writes it: WAL); raise StoreError."""
    if not path.is_file():
        raise StoreError(f"no statistics yet: {path} does not exist (the node creates it when it runs)")
    uri = f"{path.resolve().as_uri()}?mode=ro"
    if not path.with_name(path.name + "-wal").exists():
        # No WAL: no node has the file open. Reading it as immutable creates no -wal/-shm files,
        # which (owned by whoever ran this) could keep the node's own user from opening it later.
        uri += "&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {describe(exc)}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"{path}: schema version {version} is newer than this version knows ({SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"{path} has schema version {version}; run the node once to migrate it to {SCHEMA_VERSION}"
            )
        return _read(conn, version)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read {path}: {describe(exc)}") from exc
    finally:
        conn.close()


class StatsStore:
    """The SQLite file, serialised by a lock: the node's loop reads at start, the writer thread writes."""

    def __init__(
        self,
        path: Path | None,
        *,
        migrations: Sequence[Sequence[str]] = MIGRATIONS,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
    ) -> None:
        self.path = path
        self._migrations = migrations
        self._busy_timeout_s = busy_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self.generation = 0
        self.commits = 0
        self.in_memory = False
        self._conn: sqlite3.Connection | None = self._open_or_recover()

    # ------------------------------------------------------------------ opening

    @property
    def where(self) -> str:
        """The store for log lines."""
        return f"stats database {self.path}" if self.path else "stats database"

    def _connect_file(self, path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=self._busy_timeout_s
        )
        try:
            _configure(conn, busy_timeout_s=self._busy_timeout_s)
            migrate(conn, self._migrations, where=self.where)
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect_memory(self, why: str) -> sqlite3.Connection:
        log.error("%s: %s; statistics are kept in memory only until the node restarts", self.where, why)
        self.in_memory = True
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        migrate(conn, self._migrations, where="in-memory stats database")
        return conn

    def _open_or_recover(self) -> sqlite3.Connection:
        if self.path is None:
            return self._connect_memory("no data dir")
        try:
            return self._connect_file(self.path)
        except (SchemaTooNewError, MigrationError) as exc:
            return self._connect_memory(f"{exc}; the file is left as it is")
        except (sqlite3.Error, CorruptError, OSError) as exc:
            if (
                isinstance(exc, OSError)
                or error_kind(exc) != "corrupt"
                or _healthy_but_unopenable(self.path, exc)
            ):
                return self._connect_memory(f"cannot open it ({describe(exc)}); the file is left as it is")
            return self._recover(describe(exc))

    def _recover(self, reason: str) -> sqlite3.Connection:
        """Move the unusable file (and its WAL) aside and start a fresh one; memory if even that fails."""
        assert self.path is not None
        stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(self._clock()))
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        counter = 1
        while aside.exists():
            counter += 1
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{counter}")
        try:
            if self.path.exists():
                self.path.replace(aside)
            wal = self.path.with_name(self.path.name + "-wal")
            if wal.exists():
                wal.replace(aside.with_name(aside.name + "-wal"))
            self.path.with_name(self.path.name + "-shm").unlink(missing_ok=True)
        except OSError as exc:
            return self._connect_memory(f"unreadable ({reason}) and cannot be moved aside ({exc.strerror})")
        log.error("%s is unreadable (%s); moved it to %s and started a fresh one", self.where, reason, aside)
        self.generation += 1
        try:
            return self._connect_file(self.path)
        except (StoreError, sqlite3.Error, OSError) as exc:
            return self._connect_memory(f"cannot create a fresh file ({describe(exc)})")

    # ------------------------------------------------------------------ reading and writing

    def snapshot(self) -> Snapshot:
        """Everything in the store (an empty snapshot after recovering from a corrupt file)."""
        with self._lock:
            conn = self._require()
            try:
                return _read(conn, len(self._migrations))
            except sqlite3.DatabaseError as exc:
                if self.in_memory:
                    raise
                if error_kind(exc) == "corrupt":
                    self._replace_corrupt(exc)
                else:
                    # Writing absolute totals over rows we could not read would lose them: leave the file.
                    with contextlib.suppress(sqlite3.Error):
                        conn.close()
                    self._conn = self._connect_memory(
                        f"cannot read it ({describe(exc)}); the file is left as it is"
                    )
                return _read(self._require(), len(self._migrations))

    def write(self, batch: Batch) -> None:
        """Write a batch in one transaction. Corruption is recovered from here (the batch is written to
        the fresh file); other failures (disk full, I/O error) raise sqlite3.Error and change nothing."""
        with self._lock:
            try:
                self._write(self._require(), batch)
            except sqlite3.DatabaseError as exc:
                if error_kind(exc) != "corrupt" or self.in_memory:
                    raise
                self._replace_corrupt(exc)
                self._write(self._require(), batch)

    def _replace_corrupt(self, exc: BaseException) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
        self._conn = self._recover(describe(exc))

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError("the stats store is closed")
        return self._conn

    def _write(self, conn: sqlite3.Connection, batch: Batch) -> None:
        now = self._clock()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                _UPSERT_DAY, [(*(getattr(day, c) for c in _DAY_COLUMNS), now) for day in batch.days.values()]
            )
            conn.executemany(
                "INSERT OR IGNORE INTO achievements (id, title, date, ts) VALUES (?, ?, ?, ?)",
                [(a.id, a.title, a.date, a.ts) for a in batch.achievements.values()],
            )
            conn.executemany(_UPSERT_META, list(batch.meta.items()))
            if batch.prune_before:
                self._prune(conn, batch.prune_before)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.commits += 1

    @staticmethod
    def _prune(conn: sqlite3.Connection, before: str) -> None:
        """Fold days older than `before` into their month's totals, then delete them."""
        sums = ", ".join(f"sum({c})" for c in _MONTH_COLUMNS[2:])
        adds = ", ".join(f"{c} = {c} + excluded.{c}" for c in _MONTH_COLUMNS[1:])
        cursor = conn.execute(
            f"INSERT INTO months ({', '.join(_MONTH_COLUMNS)}) "
            f"SELECT substr(date, 1, 7), count(*), {sums} FROM days WHERE date < ? GROUP BY 1 "
            f"ON CONFLICT(month) DO UPDATE SET {adds}",
            (before,),
        )
        if cursor.rowcount:
            conn.execute("DELETE FROM days WHERE date < ?", (before,))
            log.info("stats: days before %s summarised into monthly totals", before)

    def close(self) -> None:
        """Close the database (pending batches are the writer's to write first)."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None
