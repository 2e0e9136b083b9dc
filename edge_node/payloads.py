"""Every JSON payload the node publishes or accepts, as pydantic models (DESIGN.md, "Topic tree").

Timestamps are UTC epoch seconds (float) everywhere. Every model carries the schema version `v`.
Outgoing models are serialised with `model_dump_json()`; incoming commands are plain strings
validated in `edge_node.commands`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Posture = Literal["good", "bad", "away", "paused", "unknown"]
View = Literal["front", "side", "unknown"]
Sensitivity = Literal["low", "medium", "high"]
CameraStateName = Literal["connected", "degraded", "disconnected", "paused"]
CameraErrorKind = Literal[
    "not_found",
    "permission_denied",
    "busy",
    "stream_ended",
    "read_failed",
    "no_frames",
    "unsupported",
    "invalid_frame",
]
Trend = Literal["improving", "declining", "stable", "unknown"]


class Payload(BaseModel):
    """Base of all outgoing payloads: frozen, strict about unknown fields, versioned."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: int = SCHEMA_VERSION


class PostureState(Payload):
    """Retained `state`: the steady (debounced) posture verdict."""

    node: str
    posture: Posture
    present: bool
    reason: str | None = Field(None, description="What is wrong, in words (e.g. 'forward head, slouch')")
    reasons: tuple[str, ...] = Field((), description="Machine codes for `reason` (e.g. forward_head)")
    view: View = "unknown"
    measures: dict[str, float] = Field(default_factory=dict, description="Angles (deg) and ratios")
    confidence: float = Field(0.0, ge=0.0, le=1.0)
    since: float = Field(description="When the current posture began")
    bad_for_s: float = Field(0.0, ge=0.0, description="Current bad streak (alert timer), seconds")
    calibrated: bool = False
    sensitivity: Sensitivity = "medium"
    seq: int = Field(ge=0)
    ts: float
    frame_ts: float | None = Field(None, description="Capture time of the frame this came from")


class CameraError(Payload):
    """What went wrong with the frame source, and what a person can do about it."""

    kind: CameraErrorKind
    message: str
    hint: str


class CameraStatus(Payload):
    """Retained `camera`."""

    state: CameraStateName
    source: str
    resolution: tuple[int, int] | None = None
    fps: float | None = None
    error: CameraError | None = None
    retry_at: float | None = None
    attempts: int = 0
    since: float
    ts: float


class DayTotals(Payload):
    """Seconds per state on one local day."""

    date: str = Field(description="Local date, YYYY-MM-DD")
    good_s: float = 0.0
    bad_s: float = 0.0
    away_s: float = 0.0
    paused_s: float = 0.0
    unknown_s: float = 0.0
    score: float | None = Field(None, description="good / (good + bad) in percent; null with no data")
    alerts: int = 0


class Stats(Payload):
    """Retained `stats`: today's totals and pipeline health."""

    node: str
    today: DayTotals
    pipeline_fps: float
    inference_ms: float | None
    dropped_frames: int
    processed_frames: int
    uptime_s: float
    rss_mb: float
    ts: float


class History(Payload):
    """Retained `history`: the last days and the trend."""

    node: str
    days: tuple[DayTotals, ...]
    trend: Trend
    trend_rule: str
    streak_days: int = 0
    goal: float = 80.0
    ts: float


class Event(Payload):
    """Non-retained `event`. `details` carries the event-specific numbers."""

    node: str
    event_type: str
    ts: float
    message: str = ""
    details: dict[str, Annotated[object, Field()]] = Field(default_factory=dict)


class Info(Payload):
    """Retained `info`."""

    node: str
    version: str
    model: str
    started_at: float
    mqtt_protocol: str
    dashboard_url: str | None = None
    config: dict[str, object] = Field(default_factory=dict, description="Effective config, no secrets")
