"""The minute journal: the day totals written in place every flush interval, so SQLite commits seldom.

A power cut may lose at most `stats.flush_interval_s` (one minute) of statistics, so the totals must
reach the card that often. An SQLite commit costs several pages for that (a WAL frame straddles two,
the -shm index one or more, then the file system's own journal), about 30 KB a commit measured on a
loop device, 40 MB a day at one a minute. The journal is a fixed 8 KiB file beside the database: two
4 KiB slots written in turn, each with a sequence number and a checksum, one block and one
`fdatasync` a write, no allocation and no size change (so it works on a full disk too). The SQLite
store still gets everything every `STORE_INTERVAL_S`, at a day change and on close.

Reading takes the valid slot with the higher sequence number (a slot torn by a power cut fails its
checksum and the other is used) and merges it into what the store held: per field the larger value
wins, as a day's totals only grow.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import zlib
from dataclasses import fields, replace
from pathlib import Path
from typing import Final

from edge_node.stats.store import DayRecord, Snapshot

log = logging.getLogger(__name__)

JOURNAL_FILE: Final = "stats.journal"
SLOT_BYTES: Final = 4096
MAGIC: Final = b"DPJ1"
_HEADER: Final = struct.Struct("<4sQII")  # magic, sequence, payload length, crc32 of the payload
_VALUES: Final = tuple(f.name for f in fields(DayRecord))[1:]
MAX_DAYS: Final = 2  # the newest day in the journal and the one before: never an old day come back


def encode(sequence: int, days: dict[str, DayRecord]) -> bytes:
    """One slot: header and the newest days that fit, zero-padded to SLOT_BYTES."""
    chosen: dict[str, list[float]] = {}
    for day in sorted(days, reverse=True)[:MAX_DAYS]:
        chosen[day] = [float(getattr(days[day], name)) for name in _VALUES]
    payload = json.dumps(chosen, separators=(",", ":")).encode()
    if _HEADER.size + len(payload) > SLOT_BYTES:
        raise ValueError("journal entry too large")  # cannot happen with MAX_DAYS days
    header = _HEADER.pack(MAGIC, sequence, len(payload), zlib.crc32(payload))
    return (header + payload).ljust(SLOT_BYTES, b"\0")


def decode(slot: bytes) -> tuple[int, dict[str, DayRecord]] | None:
    """(sequence, days) of a slot, or None when it is empty, torn or not ours."""
    if len(slot) < _HEADER.size:
        return None
    magic, sequence, length, crc = _HEADER.unpack_from(slot)
    payload = slot[_HEADER.size : _HEADER.size + length]
    if magic != MAGIC or len(payload) != length or zlib.crc32(payload) != crc:
        return None
    try:
        raw = json.loads(payload)
        days = {str(day): _record(str(day), values) for day, values in raw.items()}
    except (ValueError, TypeError, AttributeError):
        return None
    return sequence, days


def _record(day: str, values: list[float]) -> DayRecord:
    if len(values) != len(_VALUES):
        raise ValueError("wrong number of values")
    *seconds, alerts = (float(v) for v in values)
    good, bad, away, paused, unknown = seconds
    return DayRecord(day, good, bad, away, paused, unknown, int(alerts))


def read_journal(path: Path) -> tuple[int, dict[str, DayRecord]]:
    """The newest valid entry of the journal at `path`: (sequence, days); (0, {}) when there is none."""
    try:
        data = path.read_bytes()
    except OSError:
        return 0, {}
    entries = [decode(data[i : i + SLOT_BYTES]) for i in (0, SLOT_BYTES)]
    valid = [entry for entry in entries if entry is not None]
    return max(valid, key=lambda entry: entry[0]) if valid else (0, {})


def merge_days(held: dict[str, DayRecord], journal: dict[str, DayRecord]) -> dict[str, DayRecord]:
    """The days of the journal that add to what is held: per field the larger value (totals only grow)."""
    merged = {}
    for day, record in journal.items():
        current = held.get(day, DayRecord(day))
        best = replace(
            current, **{name: max(getattr(current, name), getattr(record, name)) for name in _VALUES}
        )
        if best != current:
            merged[day] = best
    return merged


def with_journal(snapshot: Snapshot, path: Path) -> Snapshot:
    """A store snapshot brought up to date with the journal beside it (for readers such as the CLI)."""
    _, days = read_journal(path)
    newer = merge_days(snapshot.days, days)
    return replace(snapshot, days={**snapshot.days, **newer}) if newer else snapshot


class MinuteJournal:
    """Writes the day totals in place, alternating between two checksummed slots (one block each)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sequence, _ = read_journal(path)
        self._fd: int | None = None
        self.writes = 0
        with contextlib.suppress(OSError):
            self._open()  # allocate its blocks now, while there is room; else at the first write

    @property
    def where(self) -> str:
        """The journal for log lines."""
        return f"stats journal {self.path}"

    def read(self) -> dict[str, DayRecord]:
        """The days of the newest valid entry."""
        return read_journal(self.path)[1]

    def write(self, days: dict[str, DayRecord]) -> None:
        """Write the days durably (one block and fdatasync; none: an empty entry); raise OSError."""
        fd = self._open()
        self.sequence += 1
        os.pwrite(fd, encode(self.sequence, days), (self.sequence % 2) * SLOT_BYTES)
        os.fdatasync(fd)
        self.writes += 1

    def _open(self) -> int:
        if self._fd is not None:
            return self._fd
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size < 2 * SLOT_BYTES:
                # Allocated once, here: later writes only overwrite these blocks (no space needed).
                os.pwrite(fd, b"\0" * (2 * SLOT_BYTES), 0)
                os.fsync(fd)
                _sync_dir(self.path.parent)
        except OSError:
            os.close(fd)
            raise
        self._fd = fd
        return fd

    def close(self) -> None:
        """Close the file."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _sync_dir(folder: Path) -> None:
    """Make a new file's name durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
