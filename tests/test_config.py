"""Config layering and error messages (pure, plus the CLI's exit code)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge_node.config import ConfigError, build_config, parse_broker_url, redact_url, validate_config


def test_defaults_are_valid_and_embedded() -> None:
    config = build_config(environ={})
    assert config.mqtt.broker is None
    assert config.mqtt.address() is None
    assert config.camera.max_fps == 10.0
    assert config.frames.width == 640


def test_layers_file_then_env_then_flags(tmp_path: Path) -> None:
    file = tmp_path / "deskpulse.toml"
    file.write_text(
        'node_id = "from-file"\n[camera]\nmax_fps = 5\nsource = "file.mp4"\n[frames]\nquality = 50\n'
    )
    environ = {"DESKPULSE_CAMERA__MAX_FPS": "7", "DESKPULSE_NODE_ID": "from-env"}
    flags = {("node_id",): ("--node-id", "from-flag")}
    config = build_config(file_path=file, environ=environ, flags=flags)
    assert config.node_id == "from-flag"  # flag beats env beats file
    assert config.camera.max_fps == 7.0  # env beats file
    assert config.camera.source == "file.mp4"  # file beats default
    assert config.frames.quality == 50


def test_config_file_from_environment(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("[posture]\nsensitivity = 'high'\n")
    config = build_config(environ={"DESKPULSE_CONFIG": str(file)})
    assert config.posture.sensitivity == "high"


@pytest.mark.parametrize(
    ("flags", "environ", "expected"),
    [
        (
            {("camera", "max_fps"): ("--max-fps", "-1")},
            {},
            "camera.max_fps = '-1' (from --max-fps): Input should be greater than 0",
        ),
        (
            {},
            {"DESKPULSE_POSTURE__SENSITIVITY": "extreme"},
            "posture.sensitivity = 'extreme' (from DESKPULSE_POSTURE__SENSITIVITY): "
            "Input should be 'low', 'medium' or 'high'",
        ),
        (
            {("node_id",): ("--node-id", "Desk 1")},
            {},
            "node_id = 'Desk 1' (from --node-id): must use only a-z, 0-9, '_' and '-'",
        ),
        (
            {("mqtt", "broker"): ("--broker", "http://x")},
            {},
            "mqtt.broker = 'http://x' (from --broker): must look like mqtt://",
        ),
        (
            {("frames", "enabled"): ("--frames", "maybe")},
            {},
            "frames.enabled = 'maybe' (from --frames): Input should be a valid boolean",
        ),
    ],
)
def test_invalid_values_name_field_value_and_rule(
    flags: dict[tuple[str, ...], tuple[str, object]], environ: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config(environ=environ, flags=flags)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_unknown_keys_are_rejected(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("[camera]\nmax_fsp = 5\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'camera.max_fsp'"):
        build_config(file_path=file, environ={})
    with pytest.raises(ConfigError, match="unknown environment variable DESKPULSE_CAMERA__FPS"):
        build_config(environ={"DESKPULSE_CAMERA__FPS": "3"})


def test_bad_toml_and_missing_file_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("node_id = \n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        build_config(file_path=bad, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        build_config(file_path=tmp_path / "nope.toml", environ={})


def test_cross_field_rule() -> None:
    with pytest.raises(ConfigError, match="need an mqtts:// broker"):
        validate_config({"mqtt": {"broker": "mqtt://h:1883", "ca_file": "ca.pem"}})


def test_broker_url_parsing_and_redaction() -> None:
    address = parse_broker_url("mqtts://node%40x:s3cr%3At@broker.lan:8884")
    assert (address.host, address.port, address.tls) == ("broker.lan", 8884, True)
    assert (address.username, address.password) == ("node@x", "s3cr:t")
    assert "s3cr" not in address.redacted()
    assert parse_broker_url("mqtt://h").port == 1883
    assert parse_broker_url("mqtts://h").port == 8883
    assert redact_url("rtsp://cam:hunter2@10.0.0.5/stream") == "rtsp://cam:***@10.0.0.5/stream"


def test_redacted_config_has_no_secrets(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("from-file-secret\n")
    config = validate_config(
        {
            "mqtt": {"broker": "mqtt://u:url-secret@h:1", "password": "field-secret"},
            "camera": {"source": "rtsp://a:cam-secret@h/s"},
        }
    )
    text = str(config.redacted())
    for secret in ("url-secret", "field-secret", "cam-secret"):
        assert secret not in text
    config = validate_config({"mqtt": {"broker": "mqtt://u@h:1", "password_file": str(pw)}})
    address = config.mqtt.address()
    assert address is not None and address.password == "from-file-secret"
    assert "from-file-secret" not in str(config.redacted())


def test_cli_invalid_config_exits_2_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edge_node", "--max-fps", "abc"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "deskpulse-edge: invalid config: camera.max_fps = 'abc' (from --max-fps): "
        "Input should be a valid number, unable to parse string as a number"
    ]
    assert "Traceback" not in result.stderr
