"""The words every layer shares, defined once: postures, views, sensitivities, settings and bounds.

The payload models, the config, the posture engine, Home Assistant discovery and the dashboard
(through the generated `dashboard/js/contract.js`) all take these from here; nothing retypes them.
"""

from __future__ import annotations

import re
from typing import Final, Literal, get_args

Posture = Literal["good", "bad", "away", "paused", "unknown"]
POSTURES: Final[tuple[Posture, ...]] = get_args(Posture)

View = Literal["front", "side", "unknown"]
VIEWS: Final[tuple[View, ...]] = get_args(View)

# The colour-blind-safe palette (Okabe & Ito) every picture of a posture uses: the dashboard's
# stylesheet (light theme) and the skeleton burned into frames; tests/test_contract.py compares them.
POSTURE_COLOURS: Final[dict[str, str]] = {
    "good": "#0072b2",
    "bad": "#d55e00",
    "unknown": "#e69f00",
    "away": "#6b7280",
    "paused": "#6b7280",
}

Sensitivity = Literal["low", "medium", "high"]
SENSITIVITIES: Final[tuple[Sensitivity, ...]] = get_args(Sensitivity)

CameraStateName = Literal["connected", "degraded", "disconnected", "paused"]
CAMERA_STATES: Final[tuple[CameraStateName, ...]] = get_args(CameraStateName)
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

CalibrationState = Literal["uncalibrated", "calibrating", "calibrated"]
CALIBRATION_STATES: Final[tuple[CalibrationState, ...]] = get_args(CalibrationState)

Trend = Literal["improving", "declining", "stable", "unknown"]

# How the camera's picture is turned before anything looks at it: clockwise degrees.
Rotation = Literal[0, 90, 180, 270]
ROTATIONS: Final[tuple[Rotation, ...]] = get_args(Rotation)

# Settings a `…/<setting>/set` command may change, in the order they are published and shown.
Setting = Literal[
    "monitoring", "frames", "alert_minutes", "sensitivity", "rotation", "cpu_budget", "calibrate"
]
SETTINGS: Final[tuple[Setting, ...]] = get_args(Setting)
ALERT_MINUTES_MIN: Final = 1.0
ALERT_MINUTES_MAX: Final = 240.0
# The share of the CPU the pose model may use on average, in cores (0.25: a quarter of one core).
CPU_BUDGET_MIN: Final = 0.05
CPU_BUDGET_MAX: Final = 8.0

# Events Home Assistant's event entity offers (the `event` topic carries more types than these).
ALERT_EVENT_TYPES: Final = ("posture_alert", "posture_corrected")

NODE_ID_PATTERN: Final = re.compile(r"^[a-z0-9_-]+$")


def is_valid_node_id(node_id: str) -> bool:
    """Return True if `node_id` may be used as a topic level."""
    return bool(NODE_ID_PATTERN.fullmatch(node_id))


def slugify_node_id(text: str) -> str:
    """Turn a host name or label into a valid node id (`[a-z0-9_-]+`)."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")
    return slug or "desk"
