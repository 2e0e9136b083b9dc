"""Local days: dates, midnights and wall-clock times in one time zone (the system's unless configured)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as clock_time
from zoneinfo import ZoneInfo


class LocalCalendar:
    """Local dates and clock times in one zone; None means the system's (read through the C library)."""

    def __init__(self, zone: tzinfo | None) -> None:
        self.zone = zone

    @property
    def name(self) -> str:
        """The zone's name for log lines."""
        if self.zone is None:
            return f"system ({datetime.now().astimezone().tzname()})"
        return str(getattr(self.zone, "key", self.zone))

    def date_of(self, ts: float) -> date:
        """The local date of `ts`."""
        return datetime.fromtimestamp(ts, self.zone).date()

    def at(self, day: date, wall: clock_time) -> float:
        """Epoch seconds of a local wall time (a time skipped by a DST change maps past the gap)."""
        return datetime.combine(day, wall, tzinfo=self.zone).timestamp()

    def bounds(self, ts: float) -> tuple[date, float, float]:
        """The local day containing `ts`, and its start and end (next local midnight) as epoch seconds."""
        day = self.date_of(ts)
        start = self.at(day, clock_time(0))
        end = self.at(day + timedelta(days=1), clock_time(0))
        if not start <= ts < end:  # a zone whose midnight is skipped or repeated: keep moving forward
            start, end = ts, max(end, ts + 1.0)
        return day, start, end


def calendar_for(zone: str | tzinfo | None) -> LocalCalendar:
    """A calendar for an IANA name, a tzinfo, or None for the system's zone."""
    if isinstance(zone, str):
        return LocalCalendar(ZoneInfo(zone))
    return LocalCalendar(zone)


class DaySplitter:
    """Splits spans of time at local midnights, remembering the current day's bounds (cheap per frame)."""

    def __init__(self, calendar: LocalCalendar) -> None:
        self._calendar = calendar
        self._bounds: tuple[date, float, float] | None = None

    def day_of(self, ts: float) -> date:
        """The local date of `ts`."""
        bounds = self._bounds
        if bounds is None or not bounds[1] <= ts < bounds[2]:
            bounds = self._bounds = self._calendar.bounds(ts)
        return bounds[0]

    def split(self, start: float, end: float) -> Iterator[tuple[date, float]]:
        """(day, seconds) for each local day that [start, end) touches."""
        at = start
        while at < end:
            self.day_of(at)
            assert self._bounds is not None
            day, _, day_end = self._bounds
            upto = min(end, day_end)
            yield day, upto - at
            at = upto
