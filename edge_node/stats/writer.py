"""The `stats-writer` thread: batches go to the SQLite store, and the minute journal is written, off the
processing loop's thread."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Final

from edge_node.stats.journal import MinuteJournal
from edge_node.stats.store import Batch, DayRecord, StatsStore, describe

log = logging.getLogger(__name__)

FAILURE_LOG_INTERVAL_S: Final = 60.0  # one line a minute while writes fail, never one per write


class StatsWriter:
    """Hands batches to the store, and day totals to the journal, on the `stats-writer` thread, so a slow
    SD card never stalls the loop.

    Pending rows are merged (the newest values win), so the hand-off is bounded however slow the disk.
    A failed write keeps its rows for the next attempt; rows the store could not take go to the journal.
    After a store write, the journal is emptied (or given the newer totals), so it never holds a day
    the store has and a later start might fold into a month a second time.
    """

    def __init__(
        self,
        store: StatsStore,
        *,
        journal: MinuteJournal | None = None,
        background: bool = True,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self.journal = journal if not store.in_memory else None
        self._mono = mono
        self.failures = 0
        self._pending = Batch()
        self._noted: dict[str, DayRecord] = {}
        self._cond = threading.Condition()
        self._busy = False
        self._wake = False
        self._closing = False
        self._failing_since: float | None = None
        self._last_failure_log: float | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="stats-writer", daemon=True)
            self._thread.start()

    @property
    def failing(self) -> bool:
        """True while writes fail (rows are kept in memory and retried)."""
        return self._failing_since is not None

    def submit(self, batch: Batch) -> None:
        """Queue rows for writing; returns at once unless the writer runs in the caller's thread."""
        if not batch:
            return
        with self._cond:
            self._pending.merge(batch)
            self._wake = True
            self._cond.notify_all()
        if self._thread is None:
            self._write_pending()

    def note(self, days: dict[str, DayRecord]) -> None:
        """Write day totals durably to the journal (one block); to the store when there is no journal."""
        if self.journal is None:
            self.submit(Batch(days=dict(days)))
            return
        if not days:
            return
        with self._cond:
            self._noted.update(days)
            self._wake = True
            self._cond.notify_all()
        if self._thread is None:
            self._write_pending()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted is written; False on timeout or while writes fail."""
        if self._thread is None:
            self._write_pending()
            return not self._pending and not self._noted
        with self._cond:
            self._wake = True
            self._cond.notify_all()
            settled = self._cond.wait_for(
                lambda: not self._busy and (not (self._pending or self._noted) or self.failing), timeout
            )
            return settled and not self._pending and not self._noted

    def close(self, timeout: float = 10.0) -> None:
        """Write what is pending and stop the thread."""
        if self._thread is not None:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("stats writer did not finish within %.0f s; the last rows may be lost", timeout)
                return
            self._thread = None
        self._write_pending()
        if self.journal is not None:
            self.journal.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                # Woken by a submit, not by rows left from a failed write: retries follow the batches.
                self._cond.wait_for(lambda: self._wake or self._closing)
                self._wake = False
                if self._closing:
                    return
            self._write_pending()

    def _write_pending(self) -> None:
        with self._cond:
            batch, self._pending = self._pending, Batch()
            noted, self._noted = self._noted, {}
            self._busy = bool(batch or noted)
        if not (batch or noted):
            return
        try:
            error = self._write_store(batch) if batch else None
            if self.journal is not None:
                unstored = dict(batch.days) if error is not None else {}
                error = self._write_journal({**unstored, **noted}, cleared=bool(batch)) or error
            self._settle(error)
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _write_store(self, batch: Batch) -> Exception | None:
        try:
            self._store.write(batch)
        except sqlite3.Error as exc:
            with self._cond:
                batch.merge(self._pending)
                self._pending = batch
            return exc
        return None

    def _write_journal(self, days: dict[str, DayRecord], *, cleared: bool) -> Exception | None:
        """The days not in the store yet; an empty entry after the store took everything."""
        assert self.journal is not None
        if not days and not cleared:
            return None
        try:
            self.journal.write(days)
        except OSError as exc:
            with self._cond:
                self._noted = {**days, **self._noted}
            return exc
        return None

    def _settle(self, error: Exception | None) -> None:
        if error is not None:
            self._report_failure(error)
        elif self._failing_since is not None:
            log.info(
                "%s writable again after %.0f s; wrote the statistics kept in memory meanwhile",
                self._store.where,
                self._mono() - self._failing_since,
            )
            self._failing_since = None
            self._last_failure_log = None
            self.failures = 0

    def _report_failure(self, exc: Exception) -> None:
        now = self._mono()
        self.failures += 1
        if self._failing_since is None:
            self._failing_since = now
        # A little slack: retries paced by the flush interval must not miss their minute by a hair.
        if self._last_failure_log is None or now - self._last_failure_log >= FAILURE_LOG_INTERVAL_S - 0.5:
            self._last_failure_log = now
            journal = self.journal
            where = self._store.where if isinstance(exc, sqlite3.Error) or journal is None else journal.where
            log.error(
                "cannot write the %s (%s; failing for %.0f s, %d attempts); the statistics are kept in "
                "memory and written as soon as it works again",
                where,
                describe(exc),
                now - self._failing_since,
                self.failures,
            )
