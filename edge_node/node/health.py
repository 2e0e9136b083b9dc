"""The node's own health: bounded error logging, pipeline metrics, stall detection, the systemd watchdog."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

import psutil

from edge_node.vision.pose import process_cpu_s
from edge_node.watchdog import SystemdNotifier

log = logging.getLogger(__name__)

ERROR_LOG_INTERVAL_S: Final = 60.0
MAX_ERROR_KINDS: Final = 64
MESSAGE_CHARS: Final = 200  # of an exception's text in a repeat line
PROCESSING_FAILED: Final = "processing failed"  # state.reason while every frame fails
METRICS_WINDOW: Final = 120
FPS_WINDOW_S: Final = 10.0


class ErrorLog:
    """Logs an unexpected exception at most once per interval per kind, with what it suppressed meanwhile.

    A kind is where it happened plus the exception type (never anything per frame), so an error that
    repeats on every frame writes one line per interval: the first with its traceback, the later ones a
    single line with the count. The bookkeeping is bounded: at most `max_kinds` kinds are remembered
    (the one seen longest ago is forgotten first).
    """

    def __init__(
        self,
        interval_s: float = ERROR_LOG_INTERVAL_S,
        *,
        mono: Callable[[], float] = time.monotonic,
        max_kinds: int = MAX_ERROR_KINDS,
    ):
        self._interval_s = interval_s
        self._mono = mono
        self._max_kinds = max_kinds
        self._kinds: OrderedDict[str, _Kind] = OrderedDict()  # least recently seen first
        self.count = 0

    @property
    def kinds(self) -> int:
        """How many kinds of error are remembered (at most `max_kinds`)."""
        return len(self._kinds)

    def report(self, where: str, exc: BaseException) -> None:
        """Count one failure; log it unless the same kind was logged within the interval."""
        self.count += 1
        key = f"{where}:{type(exc).__name__}"
        now = self._mono()
        kind = self._kinds.get(key)
        if kind is None:
            kind = self._kinds[key] = _Kind(logged_at=now)
            while len(self._kinds) > self._max_kinds:
                self._kinds.popitem(last=False)
            log.error("%s failed (%d errors so far); the node keeps running", where, self.count, exc_info=exc)
            return
        self._kinds.move_to_end(key)
        if 0 <= now - kind.logged_at < self._interval_s:
            kind.suppressed += 1
            return
        log.error(
            "%s failed again: %s: %s (%d more like it in the last %.0f s, %d errors so far); "
            "the node keeps running",
            where,
            type(exc).__name__,
            _one_line(exc),
            kind.suppressed,
            now - kind.logged_at,
            self.count,
        )
        kind.logged_at, kind.suppressed = now, 0


@dataclass
class _Kind:
    """When a kind of error was last logged, and how many of it were not logged since."""

    logged_at: float
    suppressed: int = 0


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return first[:MESSAGE_CHARS]


class FailingFrames:
    """Notices when every frame has failed for a while, so the node stops publishing a stale verdict.

    The published posture only changes with evidence, and a frame that fails gives none: without this
    a pose stage that raises on every frame would leave the last good or bad in place for ever.
    """

    def __init__(self, after_s: float) -> None:
        self._after_s = after_s
        self._processed = -1
        self._since = 0.0
        self._told = False

    def failed(self, mono: float, processed_total: int) -> bool:
        """One more frame failed; True once, when frames have failed for `after_s` with none processed."""
        if processed_total != self._processed:
            self._processed, self._since, self._told = processed_total, mono, False
        if self._told or mono - self._since < self._after_s:
            return False
        self._told = True
        return True


class PipelineMetrics:
    """Frames judged or held, the model's rate and time, over a sliding window (bounded)."""

    def __init__(self, window: int = METRICS_WINDOW) -> None:
        self._processed: deque[float] = deque(maxlen=window)
        self._inferred: deque[float] = deque(maxlen=window)
        self._inference: deque[float] = deque(maxlen=window)
        self.processed_total = 0
        self.inferred_total = 0

    def record(self, mono: float, inference_ms: float | None) -> None:
        """One frame processed at monotonic time `mono`: by the model (its time given) or held (None)."""
        self._processed.append(mono)
        self.processed_total += 1
        if inference_ms is not None:
            self._inferred.append(mono)
            self._inference.append(inference_ms)
            self.inferred_total += 1

    def fps(self, now_mono: float) -> float:
        """Frames processed per second over the last 10 s."""
        return _rate(self._processed, now_mono)

    def inference_fps(self, now_mono: float) -> float:
        """Frames through the model per second over the last 10 s."""
        return _rate(self._inferred, now_mono)

    def inference_ms(self) -> float | None:
        """The median inference time of the window, or None before the first frame."""
        if not self._inference:
            return None
        ordered = sorted(self._inference)
        return round(ordered[len(ordered) // 2], 2)


def _rate(times: deque[float], now_mono: float) -> float:
    recent = [t for t in times if now_mono - t <= FPS_WINDOW_S]
    if len(recent) < 2:
        return 0.0
    return round((len(recent) - 1) / max(recent[-1] - recent[0], 1e-6), 2)


class ProcessMeter:
    """The process's own CPU use (user + system, all threads), memory and uptime."""

    def __init__(self, mono: Callable[[], float] = time.monotonic) -> None:
        self._mono = mono
        self._started = mono()
        self._last: tuple[float, float] | None = None
        self._process = psutil.Process()

    def cores(self) -> float | None:
        """Cores used on average since the last call (None the first time)."""
        now, cpu = self._mono(), process_cpu_s()
        last, self._last = self._last, (now, cpu)
        if last is None or now - last[0] <= 0:
            return None
        return round((cpu - last[1]) / (now - last[0]), 3)

    def uptime_s(self) -> float:
        """Seconds since the meter was made (monotonic)."""
        return round(self._mono() - self._started, 1)

    def rss_mb(self) -> float:
        """Resident memory in MiB."""
        rss: int = self._process.memory_info().rss
        return round(rss / 1_048_576, 1)


class CaptureProgress(Protocol):
    """What the health checks read from the capture thread."""

    @property
    def ticks(self) -> int:
        """Advances on every pass of the capture loop."""

    @property
    def last_frame_mono(self) -> float | None:
        """When the source last delivered a frame (monotonic), or None."""

    def mark_stalled(self, seconds: float) -> None:
        """Report the camera degraded: no frame for `seconds`."""


class Watchdog:
    """Marks a camera that stopped delivering as degraded, and feeds systemd only while capture progresses."""

    def __init__(
        self,
        capture: CaptureProgress,
        notifier: SystemdNotifier,
        *,
        stall_s: float,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self._capture = capture
        self._notifier = notifier
        self._stall_s = stall_s
        self._mono = mono
        # systemd wants a ping within WatchdogSec; a few per interval are plenty, not one per frame.
        self._interval_s = min(1.0, (notifier.watchdog_s or 4.0) / 4)
        self._last_ticks = -1
        self._last_progress = mono()
        self._last_ping = -1e9

    def check_stall(self, *, expecting_frames: bool) -> None:
        """Mark the camera degraded when no frame came for `stall_s` while one was expected."""
        last = self._capture.last_frame_mono
        if expecting_frames and last is not None:
            idle = self._mono() - last
            if idle >= self._stall_s:
                self._capture.mark_stalled(idle)

    def feed(self) -> None:
        """Ping systemd, unless the capture thread stopped looping (a hung read) for 2 x stall_s."""
        now = self._mono()
        ticks = self._capture.ticks
        if ticks != self._last_ticks:
            self._last_ticks = ticks
            self._last_progress = now
        progressing = now - self._last_progress < self._stall_s * 2
        if progressing and now - self._last_ping >= self._interval_s:
            self._last_ping = now
            self._notifier.watchdog()
