"""The `stats-writer` thread: batches go to the SQLite store off the processing loop's thread."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Final

from edge_node.stats.store import Batch, StatsStore, describe

log = logging.getLogger(__name__)

FAILURE_LOG_INTERVAL_S: Final = 60.0  # one line a minute while writes fail, never one per write


class StatsWriter:
    """Hands batches to the store on the `stats-writer` thread, so a slow SD card never stalls the loop.

    Pending rows are merged (the newest values win), so the hand-off is bounded however slow the disk.
    A failed write keeps its rows for the next attempt.
    """

    def __init__(
        self, store: StatsStore, *, background: bool = True, mono: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._mono = mono
        self.failures = 0
        self._pending = Batch()
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

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted is written; False on timeout or while writes fail."""
        if self._thread is None:
            self._write_pending()
            return not self._pending
        with self._cond:
            self._wake = True
            self._cond.notify_all()
            settled = self._cond.wait_for(
                lambda: not self._busy and (not self._pending or self.failing), timeout
            )
            return settled and not self._pending

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
            self._busy = bool(batch)
        if not batch:
            return
        try:
            self._store.write(batch)
        except sqlite3.Error as exc:
            with self._cond:
                batch.merge(self._pending)
                self._pending = batch
            self._report_failure(exc)
        else:
            if self._failing_since is not None:
                log.info(
                    "%s writable again after %.0f s; wrote the statistics kept in memory meanwhile",
                    self._store.where,
                    self._mono() - self._failing_since,
                )
                self._failing_since = None
                self._last_failure_log = None
                self.failures = 0
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def _report_failure(self, exc: sqlite3.Error) -> None:
        now = self._mono()
        self.failures += 1
        if self._failing_since is None:
            self._failing_since = now
        if self._last_failure_log is None or now - self._last_failure_log >= FAILURE_LOG_INTERVAL_S:
            self._last_failure_log = now
            log.error(
                "cannot write the %s (%s; failing for %.0f s, %d attempts); the statistics are kept in "
                "memory and written as soon as it works again",
                self._store.where,
                describe(exc),
                now - self._failing_since,
                self.failures,
            )
