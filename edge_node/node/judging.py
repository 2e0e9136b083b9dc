"""Each frame: turned upright, then judged by the model or held, as the pace decides, and counted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edge_node.config import Config
from edge_node.mqtt.commands import RuntimeSettings
from edge_node.node.engine import PostureEngine
from edge_node.node.health import PipelineMetrics
from edge_node.node.pace import Pace, PaceConfig
from edge_node.posture.geometry import Baseline, Reading
from edge_node.vision.frames import Frame, as_bgr, turn


def pace_for(config: Config, cpu_budget: float) -> Pace:
    """The pace the config asks for (pipeline.*, camera.max_fps) with the budget in force."""
    settings = {**config.pipeline.model_dump(), "cpu_budget": cpu_budget}
    return Pace(PaceConfig(max_fps=config.camera.max_fps, **settings))


@dataclass(frozen=True)
class Judged:
    """A processed frame (upright), its reading, and whether the model looked at it (`fresh`)."""

    frame: Frame
    reading: Reading
    fresh: bool


class Judging:
    """Runs the model only when the pace says it can change the answer; holds the last reading else."""

    def __init__(
        self, engine: PostureEngine, pace: Pace, metrics: PipelineMetrics, *, mono: Callable[[], float]
    ) -> None:
        self._engine = engine
        self.pace = pace
        self._metrics = metrics
        self._mono = mono

    def capture_fps(self, *, calibrating: bool) -> float:
        """Frames a second the camera should hand over: the pace's, or all it may while calibrating."""
        return self.pace.config.max_fps if calibrating else self.pace.capture_fps()

    def frame(
        self, frame: Frame, settings: RuntimeSettings, *, baseline: Baseline | None, calibrating: bool
    ) -> Judged:
        """Turn the frame upright; judge it, or hold the last reading for it; count it."""
        image = turn(as_bgr(frame.image), settings.rotation)
        if image is not frame.image:
            frame = Frame(image=image, ts=frame.ts, mono=frame.mono, seq=frame.seq)
        mono = self._mono()
        if settings.cpu_budget != self.pace.config.cpu_budget:
            self.pace.set_budget(settings.cpu_budget)
        engine, last = self._engine, self._engine.last_reading
        decision = self.pace.decide(
            mono,
            change=engine.look(frame),
            steady=engine.steady_now and not calibrating,
            present=last is not None and last.person,
        )
        # A calibration records every frame it can get for a few seconds: neither the gate nor the
        # budget holds frames back from it.
        held = engine.hold(frame) if not (decision.infer or calibrating) else None
        if held is not None:
            self._metrics.record(mono, None)
            return Judged(frame, held, fresh=False)
        reading = engine.judge(
            frame, sensitivity=settings.sensitivity, baseline=baseline, rotation=settings.rotation
        )
        detection = engine.last_detection
        inference_ms = detection.inference_ms if detection else 0.0
        # The budget is CPU, not time: on a busy machine the wall time includes waiting for a core.
        cpu_ms = detection.cpu_ms if detection and detection.cpu_ms is not None else inference_ms
        self.pace.inferred(mono, cpu_ms / 1000)
        self._metrics.record(mono, inference_ms)
        return Judged(frame, reading, fresh=True)
