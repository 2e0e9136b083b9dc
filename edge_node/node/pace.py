"""When to run the pose model: only when it can change the answer, within a CPU budget (pure).

The model is the node's whole cost (on a Raspberry Pi 5 about 165 ms a frame). Posture changes over
seconds and a desk is empty for hours, so after each frame the pace decides whether the next one is
judged by the model or held: the scene-change gate (`edge_node.vision.motion`) says the picture is as
it was, the published posture is steady, and the last judgement is recent enough. A held frame
feeds the steadier the last reading again (the scene did not change), so hold times, hysteresis and
`away` keep working in seconds as before.

- **Active** (the scene changed, or the posture is between two states, or it did so in the last
  `still_after_s`): every frame up to `camera.max_fps`, and no faster than the CPU budget allows.
- **Still** (someone there, nothing moving): the camera hands over `gate_fps` frames a second for the
  gate, and the model looks again every `refresh_s` (a slow slump that stays under the gate's
  threshold is caught within that).
- **Empty** (nobody there): the gate at `gate_fps`, the model every `refresh_empty_s` (a fresh
  detection each time, so no phantom lingers); someone sitting down changes the picture at once.
- **Paused**: the camera is released; nothing runs.

The CPU budget caps the model's share of the CPU on average, as a bucket of CPU-seconds: it fills
at `cpu_budget` CPU-seconds per second up to `BURST_S` seconds' worth, and every inference takes its
cost out (c CPU-seconds: the process's own counters around the model's run, so a busy machine's
waiting does not count). Sustained, the model runs at most every c / budget seconds (c the median of
the last few), never faster than max_fps. What a still or empty scene leaves unspent is saved for
the moment the scene changes: the few readings that must agree before a new verdict come at the full
rate, so a tight budget does not delay a verdict, and over any long window the model still keeps to
the budget (plus at most one bucketful).
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, replace
from typing import Final, Literal

from edge_node.config import CameraConfig, PipelineConfig

Mode = Literal["active", "still", "empty", "fixed"]
# The inference time the budget divides is the median of the last few (the first call, which also
# starts MediaPipe's graph, and a hiccup of the machine must not throttle the model for minutes).
COST_WINDOW: Final = 9
# Seconds of the budget the bucket can save for a burst. A new verdict needs a few agreeing readings
# (edge_node.posture.confidence), then only its hold time: 10 s of a quarter core is 2.5 CPU-s, about
# 25 inferences here or 8-10 on a Raspberry Pi 5, enough to reach agreement at the full frame rate.
BURST_S: Final = 10.0


_PIPELINE: Final = PipelineConfig()


@dataclass(frozen=True)
class PaceConfig:
    """The pace's settings: `pipeline.*` and `camera.max_fps`, with the config's defaults."""

    max_fps: float = CameraConfig.model_fields["max_fps"].default
    cpu_budget: float = _PIPELINE.cpu_budget
    adaptive: bool = _PIPELINE.adaptive
    gate_fps: float = _PIPELINE.gate_fps
    still_after_s: float = _PIPELINE.still_after_s
    refresh_s: float = _PIPELINE.refresh_s
    refresh_empty_s: float = _PIPELINE.refresh_empty_s
    change_threshold: float = _PIPELINE.change_threshold


@dataclass(frozen=True)
class Decision:
    """Run the model on this frame or hold the last reading; and the mode that decided it."""

    infer: bool
    mode: Mode


class Pace:
    """Decides, frame by frame, whether the model runs; tells the camera how many frames to hand over."""

    def __init__(self, config: PaceConfig) -> None:
        self.config = config
        self._last_infer: float | None = None
        self._active_until = -1e18
        self._costs: deque[float] = deque(maxlen=COST_WINDOW)
        self.mode: Mode = "fixed" if not config.adaptive else "active"
        self._credit = self._capacity  # CPU-seconds the model may still spend; starts full
        self._credit_at: float | None = None

    @property
    def _capacity(self) -> float:
        return max(0.0, self.config.cpu_budget) * BURST_S

    def set_budget(self, cores: float) -> None:
        """A new CPU budget, in cores (a command changed it)."""
        self.config = replace(self.config, cpu_budget=cores)
        self._credit = min(self._credit, self._capacity)

    def _refill(self, now: float) -> None:
        if self._credit_at is not None and now > self._credit_at:
            gained = (now - self._credit_at) * max(0.0, self.config.cpu_budget)
            self._credit = min(self._capacity, self._credit + gained)
        self._credit_at = now if self._credit_at is None else max(now, self._credit_at)

    def _affordable(self) -> bool:
        """True when the bucket holds the cost of one more inference (always, without a budget)."""
        if not self._costs or self.config.cpu_budget <= 0:
            return True
        return self._credit >= statistics.median(self._costs) * 0.99

    @property
    def min_interval_s(self) -> float:
        """The shortest time between two inferences the budget and max_fps allow, sustained."""
        frame = 1.0 / self.config.max_fps
        if not self._costs or self.config.cpu_budget <= 0:
            return frame
        return max(frame, statistics.median(self._costs) / self.config.cpu_budget)

    def decide(self, now: float, *, change: float | None, steady: bool, present: bool) -> Decision:
        """For a frame at `now`: `change` is the gate's score (None: nothing to compare with yet),
        `steady` whether the last reading agrees with the published posture, `present` whether a
        person is in view."""
        cfg = self.config
        if self._last_infer is None or change is None:
            # A new scene (start, resume, a new rotation): watch it closely for a while.
            self._active_until = now + cfg.still_after_s
            return Decision(True, "active" if cfg.adaptive else "fixed")
        since = now - self._last_infer
        self._refill(now)
        budget_ok = since >= 0.99 / cfg.max_fps and self._affordable()
        if not cfg.adaptive:
            return Decision(budget_ok, "fixed")
        if change > cfg.change_threshold or not steady:
            self._active_until = now + cfg.still_after_s
        if now < self._active_until:
            self.mode = "active"
            return Decision(budget_ok, "active")
        self.mode = "still" if present else "empty"
        refresh = cfg.refresh_s if present else cfg.refresh_empty_s
        return Decision(since >= refresh * 0.99 and budget_ok, self.mode)

    def inferred(self, now: float, cost_s: float) -> None:
        """The model ran at `now` and took `cost_s` seconds."""
        self._last_infer = now
        self._costs.append(cost_s)
        self._refill(now)
        self._credit = max(-self._capacity, self._credit - cost_s)

    def capture_fps(self) -> float:
        """How many frames a second the camera should hand over now."""
        cfg = self.config
        if cfg.adaptive and self.mode in ("still", "empty"):
            return min(cfg.gate_fps, cfg.max_fps)
        if self._affordable():
            return cfg.max_fps  # a burst from what the bucket saved
        return min(cfg.max_fps, 1.0 / self.min_interval_s)
