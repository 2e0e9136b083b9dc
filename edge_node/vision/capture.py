"""The capture thread: opens the source, reads at its own pace, hands frames on, retries on failure.

The capture thread owns the source: it opens it, reads frames at the source's own pace (a file
plays like a camera), hands each frame on through a one-slot `LatestSlot` (a frame that was not
taken in time is dropped and counted, never queued) and keeps retrying with capped exponential
backoff and jitter when the source fails. It never raises into the daemon.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from edge_node.config import CameraConfig
from edge_node.payloads import CameraError, CameraStatus
from edge_node.vision.frames import Frame, LatestSlot
from edge_node.vision.sources import HINTS, FrameSource, SourceError, SourceInfo, make_source
from edge_node.vocabulary import CameraStateName

log = logging.getLogger(__name__)


# Retries at the base delay before backing off: a camera that is re-plugged, a USB reset or a stream
# that hiccups is usually back within seconds, and a node that then waits 4-8 s more to look again
# is what users notice. Five retries a second apart cost nothing; after them the delay doubles.
FAST_RETRIES: Final = 5


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """`base` for the first FAST_RETRIES attempts, then capped exponential backoff; "equal jitter"
    (half fixed, half random) either way."""
    delay = min(cap, base * (2 ** max(0, attempt - FAST_RETRIES)))
    return float(delay / 2 + rng.uniform(0, delay / 2))


@dataclass
class _Status:
    state: CameraStateName = "disconnected"
    info: SourceInfo | None = None
    error: CameraError | None = None
    retry_at: float | None = None
    attempts: int = 0
    since: float = field(default_factory=time.time)
    version: int = 0


class Capture:
    """Runs the named `capture` thread; `pause()` releases the device, `resume()` reopens it."""

    def __init__(
        self,
        camera: CameraConfig,
        slot: LatestSlot,
        *,
        source_factory: Callable[[CameraConfig], FrameSource] = make_source,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._camera = camera
        self._slot = slot
        self._factory = source_factory
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._status = _Status()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._paused = False
        self._seq = 0
        self.source_open = False
        self.ticks = 0  # advances on every loop pass; a stuck read stops it (watchdog)
        self.last_frame_mono: float | None = None
        self._handoff_fps = camera.max_fps
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)

    # ---- control (any thread)

    def start(self) -> None:
        """Start the `capture` thread."""
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and release the source (waits up to `timeout` s)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def pause(self) -> None:
        """Release the camera and stop reading until resume()."""
        self._paused = True
        self._wake.set()

    def resume(self) -> None:
        """Reopen the camera and read again."""
        self._paused = False
        self._wake.set()

    def set_rate(self, fps: float) -> None:
        """Hand over at most `fps` frames a second from now on (at most camera.max_fps); frames between
        are grabbed but never decoded. The processing loop lowers it while the scene is still."""
        self._handoff_fps = max(0.1, min(float(fps), self._camera.max_fps))

    def status(self, source_label: str) -> tuple[int, CameraStatus]:
        """(version, payload) of the current camera status; the version changes with it."""
        with self._lock:
            s = self._status
            info = s.info
            return s.version, CameraStatus(
                state=s.state,
                source=source_label,
                resolution=info.resolution if info else None,
                fps=round(info.fps, 2) if info and info.fps else None,
                error=s.error,
                retry_at=s.retry_at,
                attempts=s.attempts,
                since=s.since,
                ts=self._clock(),
            )

    # ---- thread

    def _set_status(self, state: CameraStateName, **changes: object) -> None:
        with self._lock:
            s = self._status
            new = {"info": s.info, "error": None, "retry_at": None, "attempts": s.attempts, **changes}
            if state == s.state and all(getattr(s, k) == v for k, v in new.items()):
                return
            if state != s.state:
                s.since = self._clock()
            s.state = state
            for key, value in new.items():
                setattr(s, key, value)
            s.version += 1

    def _wait(self, seconds: float) -> None:
        """Sleep, waking early for stop/pause/resume; `ticks` moves on while waiting."""
        deadline = time.monotonic() + seconds
        while not self._wake.wait(min(1.0, max(0.0, deadline - time.monotonic()))):
            self.ticks += 1  # waiting for a retry is progress, a stuck read is not (watchdog)
            if time.monotonic() >= deadline:
                break
        self._wake.clear()

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            self.ticks += 1
            if self._paused:
                self._set_status("paused", attempts=0)
                self._wait(1.0)
                continue
            source = self._factory(self._camera)
            try:
                info = source.open()
            except SourceError as exc:
                source.close()
                attempt += 1
                self._fail(exc, attempt)
                continue
            except Exception as exc:
                source.close()
                attempt += 1
                self._fail(SourceError("read_failed", f"{type(exc).__name__}: {exc}"), attempt)
                continue
            self.source_open = True
            log.info("camera connected: %s %s", source.description, info.resolution or "")
            delivered = self.last_frame_mono
            try:
                attempt = self._read_loop(source, info)
            except SourceError as exc:
                # A camera that delivered frames since it opened failed anew: back off from the start,
                # not from where the previous outage left off (else every outage waits longer).
                attempt = (attempt if self.last_frame_mono == delivered else 0) + 1
                self._fail(exc, attempt)
            finally:
                source.close()
                self.source_open = False

    def _fail(self, exc: SourceError, attempt: int) -> None:
        if not exc.retry:
            log.error("camera: %s (%s); not retrying: %s", exc.message, exc.kind, HINTS[exc.kind])
            self._set_status("disconnected", error=exc.to_payload(), retry_at=None, attempts=attempt)
            while not self._stop.is_set() and not self._paused:
                self.ticks += 1
                self._wait(1.0)
            return
        delay = backoff_delay(attempt, self._camera.retry_min_s, self._camera.retry_max_s, self._rng)
        log.warning("camera: %s (%s); retry %d in %.1f s", exc.message, exc.kind, attempt, delay)
        self._set_status(
            "disconnected", error=exc.to_payload(), retry_at=round(self._clock() + delay, 3), attempts=attempt
        )
        self._wait(delay)

    def _read_loop(self, source: FrameSource, info: SourceInfo) -> int:
        """Read until stop/pause/failure; returns the retry attempt counter to continue with."""
        self._set_status("connected", info=info, attempts=0)
        # Files are paced at their own frame rate (images at max_fps); cameras pace themselves.
        period = 1.0 / min(info.fps or self._camera.max_fps, 240.0) if info.is_file else 0.0
        # Hand-offs are due on a grid of 1/max_fps, so a 15 fps camera with max_fps 10 gives 10 fps
        # (measuring from the last hand-off would give 7.5).
        next_due = next_handoff = time.monotonic()
        while not self._stop.is_set() and not self._paused:
            self.ticks += 1
            if period:
                delay = next_due - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                next_due = max(next_due + period, time.monotonic() - period)
            try:
                if not source.grab():
                    if info.is_file and self._camera.loop:
                        source.close()
                        source.open()
                        continue
                    raise SourceError("stream_ended", f"{source.description} ended", retry=False)
                now_mono = time.monotonic()
                self.last_frame_mono = now_mono
                handoff_period = 1.0 / self._handoff_fps
                if now_mono < next_handoff - 0.02 * handoff_period:
                    continue  # not needed: never decoded (on a Pi that saves most of the capture cost)
                image = source.retrieve()
            except SourceError as exc:
                if exc.kind != "invalid_frame":
                    raise
                self._set_status("degraded", error=exc.to_payload())
                continue
            if self._status.state != "connected":
                self._set_status("connected", info=info, attempts=0)
            next_handoff = max(next_handoff + handoff_period, now_mono)
            self._seq += 1
            self._slot.put(Frame(image=image, ts=self._clock(), mono=now_mono, seq=self._seq))
        return 0

    def mark_stalled(self, seconds: float) -> None:
        """Called by the processing loop when no frame arrived for `seconds`."""
        if self._status.state == "connected":
            error = SourceError("no_frames", f"no frame for {seconds:.0f} s").to_payload()
            self._set_status("degraded", error=error)
