"""Command validation (pure)."""

from __future__ import annotations

import pytest

from edge_node.mqtt.commands import Command, Rejection, RuntimeSettings, parse_command


@pytest.mark.parametrize(
    ("setting", "payload", "value"),
    [
        ("monitoring", b"ON", True),
        ("monitoring", b"off", False),
        ("frames", b"OFF", False),
        ("alert_minutes", b"10", 10.0),
        ("alert_minutes", b"12.5", 12.5),
        ("sensitivity", b"HIGH", "high"),
        ("calibrate", b"PRESS", None),
    ],
)
def test_valid_commands(setting: str, payload: bytes, value: object) -> None:
    assert parse_command(setting, payload) == Command(setting, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("setting", "payload", "reason"),
    [
        ("monitoring", b"maybe", "expected ON or OFF"),
        ("alert_minutes", b"0", "expected minutes from 1 to 240"),
        ("alert_minutes", b"nan", "expected minutes from 1 to 240"),
        ("alert_minutes", b"1e9", "expected minutes from 1 to 240"),
        ("alert_minutes", b"ten", "expected a number of minutes"),
        ("sensitivity", b"extreme", "expected low, medium or high"),
        ("calibrate", b"NOW", "expected PRESS"),
        ("volume", b"11", "unknown setting"),
        ("monitoring", b"\xff\xfe", "not UTF-8"),
        ("monitoring", b"O" * 65, "longer than 64 bytes"),
    ],
)
def test_rejections_say_why(setting: str, payload: bytes, reason: str) -> None:
    result = parse_command(setting, payload)
    assert isinstance(result, Rejection)
    assert reason in result.reason


def test_retained_commands_are_never_acted_on() -> None:
    result = parse_command("monitoring", b"OFF", retained=True)
    assert isinstance(result, Rejection)
    assert "retained" in result.reason


def test_setting_state_payloads() -> None:
    settings = RuntimeSettings(monitoring=False, alert_minutes=12.0)
    assert settings.state_payload("monitoring") == "OFF"
    assert settings.state_payload("frames") == "ON"
    assert settings.state_payload("alert_minutes") == "12"
    assert settings.state_payload("sensitivity") == "medium"


def test_overrides_replace_only_what_was_set_over_mqtt() -> None:
    from edge_node.mqtt.commands import SettingOverrides

    from_config = RuntimeSettings(alert_minutes=20.0, sensitivity="high")
    overrides = SettingOverrides(sensitivity="low")
    merged = overrides.apply_to(from_config)
    assert merged.sensitivity == "low"  # set over MQTT: kept
    assert merged.alert_minutes == 20.0  # never set over MQTT: the config still rules
    assert SettingOverrides.model_validate(
        {"monitoring": True, "frames": False, "alert_minutes": 10.0}
    ).apply_to(from_config) == RuntimeSettings(
        monitoring=True, frames=False, alert_minutes=10.0, sensitivity="high"
    )
