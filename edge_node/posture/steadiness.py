"""Debounce per-frame readings into the published posture (pure; the caller passes time in).

Each frame is an observation: `good`, `bad`, `unknown` (a person, but no verdict) or `away` (nobody).
An observation counts for the time until the next frame (at most `max_frame_s`), so evidence is
measured in seconds, whatever the frame rate. The published posture switches to X when X has been
observed for `hold(X)` seconds within the last `hold(X) / share` seconds, from at least two frames:

- a single contrary frame, or a burst shorter than the hold time, never changes the published state;
- a few flickering frames (up to 1 - share of the window) do not reset the clock, which was the fault
  of the system we replace: a real slouch is still reported after about `bad_after_s`.

When the evidence is mixed (for example flickering between bad and unknown) and the published state
was seen in less than 1 - share of the last window, the state with the most evidence takes over.

The reasons published with `bad` and `unknown` are steady as well: a reason joins the published set
when it is in at least `share` of that state's frames over the window, and leaves it when it is in at
most 1 - share of them; the set is never empty while it has frames to say why.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from dataclasses import dataclass

from edge_node.posture.geometry import Reading, ordered_reasons
from edge_node.vocabulary import Posture

# Observations in the order they win ties.
PRIORITY: tuple[Posture, ...] = ("bad", "good", "unknown", "away")
PERSON: tuple[Posture, ...] = ("bad", "good", "unknown")
# Frames kept for the reason window (bounded even at absurd frame rates).
MAX_FRAMES = 4096
EPSILON = 1e-9


@dataclass(frozen=True)
class SteadyConfig:
    """How long a new verdict must hold before it is published."""

    bad_after_s: float = 3.0
    good_after_s: float = 1.5
    away_after_s: float = 10.0
    unknown_after_s: float = 3.0
    share: float = 0.8
    max_frame_s: float = 1.0

    def __post_init__(self) -> None:
        if not 0.5 < self.share <= 1.0:
            raise ValueError("share must be in (0.5, 1]")
        if self.max_frame_s <= 0:
            raise ValueError("max_frame_s must be positive")


@dataclass
class _Run:
    """Consecutive frames with the same observation, and the seconds of evidence they gave."""

    observed: Posture
    start: float
    end: float
    frames: int


@dataclass(frozen=True)
class _Frame:
    ts: float
    observed: Posture
    reasons: tuple[str, ...]


def observe(reading: Reading) -> Posture:
    """What one frame says: its verdict, or away when nobody is there."""
    return reading.verdict if reading.person else "away"


class Steadier:
    """Hysteresis: the published posture changes only when a new verdict holds long enough."""

    def __init__(self, config: SteadyConfig, now: float) -> None:
        self._config = config
        self.posture: Posture = "unknown"
        self.since = now
        self.reading: Reading | None = None
        self.present = False
        self._runs: deque[_Run] = deque()
        self._frames: deque[_Frame] = deque(maxlen=MAX_FRAMES)
        self._last_ts: float | None = None
        self._reasons: tuple[str, ...] = ()
        self._latest: dict[Posture, Reading] = {}
        self._earned = False  # the published posture came from evidence, not from a start or force()
        self._window_s = max(self._hold(p) for p in PRIORITY) / config.share

    # ------------------------------------------------------------------ evidence

    def _hold(self, posture: Posture) -> float:
        cfg = self._config
        return {
            "bad": cfg.bad_after_s,
            "good": cfg.good_after_s,
            "away": cfg.away_after_s,
        }.get(posture, cfg.unknown_after_s)

    def _record(self, observed: Posture, ts: float) -> None:
        last = self._runs[-1] if self._runs else None
        if last is not None and self._last_ts is not None:
            # The previous observation stands until this frame (sample and hold), capped.
            last.end = min(ts, self._last_ts + self._config.max_frame_s)
        if last is not None and last.observed == observed and last.end >= ts - EPSILON:
            last.frames += 1
        else:
            self._runs.append(_Run(observed, ts, ts, 1))
        self._last_ts = ts
        kept = 0.0
        for index in range(len(self._runs) - 1, -1, -1):
            kept += self._runs[index].end - self._runs[index].start
            if kept > self._window_s:
                for _ in range(index):
                    self._runs.popleft()
                break

    def _window_start(self, window: float) -> tuple[float, bool]:
        """Where the last `window` seconds of observed time begin, and whether there are that many.

        Time without frames (a stalled camera) is not observed time: it neither supports nor
        contradicts anything.
        """
        observed = 0.0
        for run in reversed(self._runs):
            length = run.end - run.start
            if observed + length >= window - EPSILON:
                return run.end - (window - observed), True
            observed += length
        return (self._runs[0].start if self._runs else 0.0), False

    def _evidence(self, observed: Posture, window: float) -> tuple[float, int]:
        """Seconds and frames of `observed` within the last `window` seconds of observed time."""
        start, _ = self._window_start(window)
        seconds, frames = 0.0, 0
        for run in self._runs:
            if run.observed != observed or run.end < start:
                continue
            seconds += max(0.0, run.end - max(run.start, start))
            frames += run.frames
        return seconds, frames

    def _winner(self, observed: Posture) -> Posture | None:
        share = self._config.share
        for candidate in PRIORITY:
            if candidate == self.posture:
                continue
            hold = self._hold(candidate)
            if hold <= 0:
                if observed == candidate:
                    return candidate
                continue
            seconds, frames = self._evidence(candidate, hold / share)
            if frames >= 2 and seconds >= hold - EPSILON:
                return candidate
        window = max(self._hold(p) for p in PERSON) / share
        if window <= 0 or not self._window_start(window)[1]:
            return None
        current, _ = self._evidence(self.posture, window)
        if current >= (1 - share) * window:
            return None
        # Only a person's mixed verdicts fall back; nobody in view waits for away_after_s.
        totals = {p: self._evidence(p, window)[0] for p in PERSON if p != self.posture}
        if sum(totals.values()) < share * window:
            return None
        best = max(totals, key=lambda p: totals[p])
        return best if totals[best] > current else None

    # ------------------------------------------------------------------ reasons

    def _steady_reasons(self, *, fresh: bool) -> tuple[str, ...]:
        """The reasons of the published state, changed only by a clear majority of its frames."""
        if self.posture not in ("bad", "unknown"):
            return ()
        window = max(self._hold(self.posture), EPSILON) / self._config.share
        start, _ = self._window_start(window)
        frames = [f for f in self._frames if f.observed == self.posture and f.ts >= start - EPSILON]
        if not frames:
            return self._reasons
        if not fresh and self._evidence(self.posture, window)[0] < self._hold(self.posture) - EPSILON:
            return self._reasons  # too few of this state's frames lately to overrule what is published
        counts = Counter(r for f in frames for r in f.reasons)
        share = self._config.share
        if fresh:
            chosen = {r for r, n in counts.items() if n >= len(frames) / 2}
        else:
            chosen = {r for r in self._reasons if counts[r] > (1 - share) * len(frames)}
            chosen |= {r for r, n in counts.items() if n >= share * len(frames)}
        if not chosen and counts:
            chosen = {counts.most_common(1)[0][0]} if fresh or not self._reasons else set(self._reasons)
        return ordered_reasons(chosen)

    def _update_present(self) -> None:
        """Whether a person is there while the published state is `unknown` (the node asks only then).

        Before the first verdict after a start or reset, `unknown` means "still judging": present stays
        False until a state is earned, as a person who just sat down is first published good or bad.
        """
        if self.posture in ("good", "bad"):
            self.present = True
            return
        if self.posture != "unknown":
            self.present = False
            return
        if not self._earned:
            return
        window = max(self._config.unknown_after_s, EPSILON) / self._config.share
        absent, _ = self._evidence("away", window)
        seen = sum(self._evidence(p, window)[0] for p in PERSON)
        total = absent + seen
        if total <= 0:
            return
        if self.present and absent >= self._config.share * total:
            self.present = False
        elif not self.present and seen >= self._config.share * total:
            self.present = True

    # ------------------------------------------------------------------ public

    def update(self, reading: Reading, ts: float) -> bool:
        """Feed one frame's reading; return True when the published posture changed."""
        if self._last_ts is not None and ts < self._last_ts:
            self._shift(ts - self._last_ts)  # a clock step back: no evidence made or lost, none frozen
        observed = observe(reading)
        self._record(observed, ts)
        self._frames.append(_Frame(ts, observed, reading.reasons))
        oldest = self._runs[0].start
        while self._frames and self._frames[0].ts < oldest:
            self._frames.popleft()
        self._latest[observed] = reading
        winner = self._winner(observed)
        if winner is not None:
            self.posture, self.since = winner, ts
            self._earned = True
            self.present = winner in PERSON
        self._update_present()
        self._reasons = self._steady_reasons(fresh=winner is not None)
        latest = self._latest.get(self.posture) if self.posture != "away" else None
        self.reading = dataclasses.replace(latest, reasons=self._reasons) if latest is not None else None
        return winner is not None

    def _shift(self, delta: float) -> None:
        """Move every time kept by `delta`, so the evidence goes on from the stepped clock.

        Clamping to the last time instead would freeze the evidence until the clock caught up again:
        after NTP stepped the clock back by hours, the posture could not change for hours.
        """
        for run in self._runs:
            run.start += delta
            run.end += delta
        self._frames = deque(
            (dataclasses.replace(f, ts=f.ts + delta) for f in self._frames), maxlen=MAX_FRAMES
        )
        self.since += delta
        if self._last_ts is not None:
            self._last_ts += delta

    def force(self, posture: Posture, ts: float, reading: Reading | None = None) -> bool:
        """Publish `posture` now (camera lost, paused, resumed); return True if it changed."""
        self._runs.clear()
        self._frames.clear()
        self._last_ts = None
        self._latest = {observe(reading): reading} if reading is not None else {}
        self._reasons = ordered_reasons(reading.reasons) if reading is not None else ()
        self.reading = reading
        self.present = bool(reading and reading.person)
        self._earned = False
        if posture == self.posture:
            return False
        self.posture, self.since = posture, ts
        return True
