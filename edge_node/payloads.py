"""Every JSON payload the node publishes, as pydantic models: the contract (docs/contract.md).

Timestamps are UTC epoch seconds (float) everywhere. Every model carries the schema version `v`.
Outgoing models are serialised with `model_dump_json()`; incoming commands are plain strings
validated in `edge_node.mqtt.commands`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from edge_node.vocabulary import CameraErrorKind, CameraStateName, Posture, Sensitivity, Trend, View

SCHEMA_VERSION = 1


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
    calibration_recommended: bool = Field(
        False, description="A front view without calibration: calibrating makes mild forward head count"
    )
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
    pipeline_fps: float = Field(description="Frames the loop processed per second (judged or held)")
    inference_fps: float = Field(0.0, description="Frames the pose model ran on per second")
    inference_ms: float | None
    dropped_frames: int
    processed_frames: int
    inferred_frames: int = 0
    pace: str = Field("fixed", description="active, still, empty or fixed: when the model runs")
    cpu_cores: float | None = Field(None, description="CPU the node used since the last stats, in cores")
    cpu_budget: float | None = Field(None, description="The CPU budget the pose model keeps to, in cores")
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


class PoseLine(BaseModel):
    """One measure on the picture: from `a` to `b` (0-1 of width, height), its value against its limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="What a person reads, e.g. 'neck'")
    measure: str = Field(description="The measure in `state.measures`, e.g. 'neck_deg'")
    a: tuple[float, float]
    b: tuple[float, float]
    value: float
    limit: float
    op: Literal[">", "<"] = Field(description="Bad when value op limit")
    broken: bool


class PoseFrame(Payload):
    """`pose`: the skeleton behind the verdict, small enough to draw live (no picture in it)."""

    node: str
    ts: float
    frame_ts: float = Field(description="Capture time of the frame the landmarks come from")
    posture: Posture = Field(description="The published (steady) posture: the colour to draw in")
    view: View
    aspect: float = Field(gt=0, description="Picture width / height")
    points: dict[str, tuple[float, float, float]] = Field(
        description="Landmark name -> [x, y, visibility], x and y 0-1 of the picture"
    )
    lines: tuple[PoseLine, ...] = ()


# The JSON payload of each topic leaf under `deskpulse/<node>/` (docs/schema/ is generated from these).
TOPIC_PAYLOADS: dict[str, type[Payload]] = {
    "state": PostureState,
    "camera": CameraStatus,
    "stats": Stats,
    "history": History,
    "event": Event,
    "info": Info,
    "pose": PoseFrame,
}
