"""Validation of `…/<setting>/set` commands. Pure: a topic's setting name and payload in, a result out.

Payloads are plain text as Home Assistant sends them (`ON`/`OFF`, `PRESS`, numbers, option names).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge_node.vocabulary import (
    ALERT_MINUTES_MAX,
    ALERT_MINUTES_MIN,
    CPU_BUDGET_MAX,
    CPU_BUDGET_MIN,
    ROTATIONS,
    SETTINGS,
    Rotation,
    Sensitivity,
    Setting,
)

MAX_PAYLOAD_BYTES: Final = 64
TRUE_WORDS: Final = frozenset({"on", "true", "1", "yes"})
FALSE_WORDS: Final = frozenset({"off", "false", "0", "no"})


class RuntimeSettings(BaseModel):
    """Settings that can change at run time and survive a restart."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    monitoring: bool = True
    frames: bool = True
    alert_minutes: float = Field(10.0, ge=ALERT_MINUTES_MIN, le=ALERT_MINUTES_MAX)
    sensitivity: Sensitivity = "medium"
    rotation: Rotation = 0
    cpu_budget: float = Field(0.25, ge=CPU_BUDGET_MIN, le=CPU_BUDGET_MAX)

    def state_payload(self, setting: Setting) -> str:
        """The text published on `…/<setting>/state`."""
        if setting in ("monitoring", "frames"):
            return "ON" if getattr(self, setting) else "OFF"
        if setting == "alert_minutes":
            return format_number(self.alert_minutes)
        if setting == "sensitivity":
            return self.sensitivity
        if setting == "rotation":
            return str(self.rotation)
        if setting == "cpu_budget":
            return format_number(self.cpu_budget)
        raise ValueError(f"{setting} has no stored value")


class SettingOverrides(BaseModel):
    """What was set over MQTT and is kept in the data dir; None = use the config's value."""

    model_config = ConfigDict(extra="ignore")

    monitoring: bool | None = None
    frames: bool | None = None
    alert_minutes: float | None = Field(None, ge=ALERT_MINUTES_MIN, le=ALERT_MINUTES_MAX)
    sensitivity: Sensitivity | None = None
    rotation: Rotation | None = None
    cpu_budget: float | None = Field(None, ge=CPU_BUDGET_MIN, le=CPU_BUDGET_MAX)

    def apply_to(self, settings: RuntimeSettings) -> RuntimeSettings:
        """`settings` with every override in place."""
        return settings.model_copy(update=self.model_dump(exclude_none=True))


def format_number(value: float) -> str:
    """`10.0` → `10`, `2.5` → `2.5`."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class Command:
    """A valid command: set `setting` to `value` (None for calibrate)."""

    setting: Setting
    value: bool | float | str | None


@dataclass(frozen=True)
class Rejection:
    """A command that changes nothing, and why."""

    setting: str
    payload: str
    reason: str


def _preview(payload: bytes) -> str:
    text = payload[:MAX_PAYLOAD_BYTES].decode("utf-8", errors="replace")
    return text + ("…" if len(payload) > MAX_PAYLOAD_BYTES else "")


def _on_off(text: str) -> bool | None:
    lowered = text.lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    return None


def parse_command(setting: str, payload: bytes, *, retained: bool = False) -> Command | Rejection:
    """Validate one command."""
    preview = _preview(payload)
    if retained:
        return Rejection(
            setting, preview, "retained commands are ignored (they would replay on every reconnect)"
        )
    if setting not in SETTINGS:
        return Rejection(setting, preview, f"unknown setting; known: {', '.join(SETTINGS)}")
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Rejection(setting, preview, f"payload longer than {MAX_PAYLOAD_BYTES} bytes")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return Rejection(setting, preview, "payload is not UTF-8 text")
    name: Setting = setting  # checked against SETTINGS above
    if name in ("monitoring", "frames"):
        flag = _on_off(text)
        if flag is None:
            return Rejection(setting, preview, "expected ON or OFF")
        return Command(name, flag)
    if name == "alert_minutes":
        return _number(name, preview, text, (ALERT_MINUTES_MIN, ALERT_MINUTES_MAX), "minutes")
    if name == "sensitivity":
        try:
            level = _SensitivityValue.model_validate({"value": text.lower()}).value
        except ValidationError:
            return Rejection(setting, preview, "expected low, medium or high")
        return Command(name, level)
    if name == "cpu_budget":
        return _number(name, preview, text, (CPU_BUDGET_MIN, CPU_BUDGET_MAX), "cores")
    if name == "rotation":
        degrees = text.removesuffix("°").strip()
        if degrees not in {str(r) for r in ROTATIONS}:
            return Rejection(setting, preview, "expected 0, 90, 180 or 270 (clockwise degrees)")
        return Command(name, int(degrees))
    if text.upper() != "PRESS":
        return Rejection(setting, preview, "expected PRESS")
    return Command("calibrate", None)


def _number(
    setting: Setting, preview: str, text: str, bounds: tuple[float, float], unit: str
) -> Command | Rejection:
    """A number of `unit` from `low` to `high`, or the rejection that says so."""
    try:
        value = float(text)
    except ValueError:
        return Rejection(setting, preview, f"expected a number of {unit}")
    low, high = bounds
    if not math.isfinite(value) or not low <= value <= high:
        return Rejection(
            setting, preview, f"expected {unit} from {format_number(low)} to {format_number(high)}"
        )
    return Command(setting, value)


class _SensitivityValue(BaseModel):
    value: Sensitivity
