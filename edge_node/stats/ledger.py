"""The statistics in memory: seconds per state per local day, achievements and markers, and what changed.

The ledger is what the tracker counts into; `take_batch()` hands the store only what changed since the
last batch (values are absolute, so a batch written twice does no harm).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from edge_node.stats.store import Achievement, Batch, DayRecord, Snapshot
from edge_node.vocabulary import POSTURES, Posture


@dataclass
class _DayTally:
    """Mutable totals of one day in memory."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(POSTURES, 0.0))
    alerts: int = 0

    @classmethod
    def from_record(cls, record: DayRecord) -> _DayTally:
        return cls({state: float(getattr(record, f"{state}_s")) for state in POSTURES}, record.alerts)

    def record(self, day: str) -> DayRecord:
        s = self.seconds
        return DayRecord(day, s["good"], s["bad"], s["away"], s["paused"], s["unknown"], self.alerts)


class Ledger:
    """Day totals, achievements and markers, with the set of what a batch must write."""

    def __init__(self, snapshot: Snapshot, generation: int) -> None:
        self._days = {day: _DayTally.from_record(r) for day, r in snapshot.days.items()}
        self._achievements = dict(snapshot.achievements)
        self._meta = dict(snapshot.meta)
        self._generation = generation
        self._dirty_days: set[str] = set()
        self._new_achievements: dict[str, Achievement] = {}
        self._meta_dirty = False
        self._prune_before: str | None = None

    # ------------------------------------------------------------------ days

    @property
    def days(self) -> list[str]:
        """Every day held, oldest first."""
        return sorted(self._days)

    def record(self, day: str) -> DayRecord:
        """One day's totals (zeros for a day without data)."""
        tally = self._days.get(day)
        return tally.record(day) if tally else DayRecord(day)

    def records(self) -> dict[str, DayRecord]:
        """Every day held."""
        return {day: tally.record(day) for day, tally in self._days.items()}

    def last_desk_day(self, *, before: str) -> DayRecord | None:
        """The latest day before `before` with any good or bad time."""
        for day in reversed(self.days):
            record = self.record(day)
            if day < before and record.good_s + record.bad_s > 0:
                return record
        return None

    def _tally(self, day: str) -> _DayTally:
        tally = self._days.get(day)
        if tally is None:
            tally = self._days[day] = _DayTally()
        self._dirty_days.add(day)
        return tally

    def add_seconds(self, day: date, posture: Posture, seconds: float) -> None:
        """Credit `seconds` of `posture` to a local day."""
        self._tally(day.isoformat()).seconds[posture] += seconds

    def add_alert(self, day: date) -> int:
        """Count an alert on a local day; return that day's alerts."""
        tally = self._tally(day.isoformat())
        tally.alerts += 1
        return tally.alerts

    def pending_days(self) -> dict[str, DayRecord]:
        """The days changed since the last batch, without taking them (for the minute journal)."""
        return {day: self.record(day) for day in self._dirty_days if day in self._days}

    def absorb(self, days: dict[str, DayRecord]) -> None:
        """Take newer totals of some days (from the journal after a power cut); the next batch writes them."""
        for day, record in days.items():
            self._days[day] = _DayTally.from_record(record)
            self._dirty_days.add(day)

    def prune(self, cutoff: str) -> None:
        """Drop days before `cutoff` from memory; the next batch folds them into months in the store."""
        for day in [day for day in self._days if day < cutoff]:
            del self._days[day]
            self._dirty_days.discard(day)
        self._prune_before = cutoff

    # ------------------------------------------------------------------ achievements and markers

    @property
    def achievements(self) -> dict[str, Achievement]:
        """Every achievement awarded, by id."""
        return dict(self._achievements)

    def award(self, achievement: Achievement) -> bool:
        """Record an achievement; False if it was awarded before."""
        if achievement.id in self._achievements:
            return False
        self._achievements[achievement.id] = achievement
        self._new_achievements[achievement.id] = achievement
        return True

    def meta(self, key: str, default: str = "") -> str:
        """A marker (streak, last finalised day, …)."""
        return self._meta.get(key, default)

    def has_meta(self, key: str) -> bool:
        """Whether a marker was ever set."""
        return key in self._meta

    def set_meta(self, key: str, value: str) -> None:
        """Set a marker; only a change is written."""
        if self._meta.get(key) != value:
            self._meta[key] = value
            self._meta_dirty = True

    # ------------------------------------------------------------------ batches

    def wants_store(self, generation: int) -> bool:
        """True when the next batch holds more than day totals (the journal keeps only those)."""
        return (
            generation != self._generation
            or bool(self._new_achievements)
            or self._meta_dirty
            or self._prune_before is not None
        )

    def take_batch(self, generation: int) -> Batch:
        """What changed since the last batch; everything when the store started a fresh file meanwhile."""
        if generation != self._generation:
            self._generation = generation
            self._dirty_days |= set(self._days)
            self._new_achievements |= self._achievements
            self._meta_dirty = True
        batch = Batch(
            days={day: self.record(day) for day in self._dirty_days if day in self._days},
            achievements=self._new_achievements,
            meta=dict(self._meta) if self._meta_dirty else {},
            prune_before=self._prune_before,
        )
        self._dirty_days = set()
        self._new_achievements = {}
        self._meta_dirty = False
        self._prune_before = None
        return batch
