"""The command-line tools fail cleanly: one line on stderr and exit code 2, as the node does.

`deskpulse-edge forget` and `deskpulse-edge calibrate` run as real processes against a real mosquitto
(the repository's secured mosquitto.conf, its TLS listener with a throwaway CA made by openssl here):
unreadable TLS files, a certificate from another CA, a refused password, a broker that is not there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pki import issue, make_ca, need_openssl
from tests.secure_broker import SecureBroker, secure_mosquitto
from tests.support import ROOT, free_port
from tests.test_tls import NODE

pytestmark = pytest.mark.slow

TOOLS = ("forget", "calibrate")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1, an unrelated CA, and a file that is no certificate."""
    need_openssl()
    folder = tmp_path_factory.mktemp("tool-pki")
    ca = make_ca(folder, "ca")
    server = issue(folder, ca, "server", server=True)
    other = make_ca(folder / "other", "other-ca")
    garbage = folder / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    return {
        "ca.crt": ca[0],
        "server.crt": server[0],
        "server.key": server[1],
        "other-ca.crt": other[0],
        "garbage.pem": garbage,
    }


@pytest.fixture(scope="module")
def broker(certificates: dict[str, Path]) -> Iterator[SecureBroker]:
    with secure_mosquitto(tls_files=certificates) as made:
        yield made


def run_tool(
    tool: str, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DESKPULSE_")}
    common = ["--node-id", NODE, "--data-dir", str(tmp_path / "data")]
    return subprocess.run(
        [sys.executable, "-m", "edge_node", tool, *common, *args],
        capture_output=True, text=True, cwd=ROOT, env={**base, **(env or {})}, timeout=120, check=False,
    )  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str], tool: str) -> str:
    """The tool's only line on stderr, after checking the exit code and that nothing else was said."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"deskpulse-edge {tool}: ")
    assert "Traceback" not in result.stderr and result.stdout == ""
    return lines[0]


@pytest.mark.parametrize("tool", TOOLS)
def test_a_missing_ca_file_is_one_line(tool: str, broker: SecureBroker, tmp_path: Path) -> None:
    assert broker.tls_port is not None
    line = one_line(
        run_tool(
            tool, tmp_path, "--broker", f"mqtts://127.0.0.1:{broker.tls_port}",
            "--ca-file", str(tmp_path / "missing-ca.pem"),
        ),
        tool,
    )  # fmt: skip
    assert "cannot load TLS files" in line


@pytest.mark.parametrize("tool", TOOLS)
def test_a_ca_file_that_is_no_certificate_is_one_line(
    tool: str, broker: SecureBroker, certificates: dict[str, Path], tmp_path: Path
) -> None:
    assert broker.tls_port is not None
    line = one_line(
        run_tool(
            tool, tmp_path, "--broker", f"mqtts://127.0.0.1:{broker.tls_port}",
            "--ca-file", str(certificates["garbage.pem"]),
        ),
        tool,
    )  # fmt: skip
    assert "cannot load TLS files" in line


@pytest.mark.parametrize("tool", TOOLS)
def test_a_server_certificate_from_another_ca_is_one_line(
    tool: str, broker: SecureBroker, certificates: dict[str, Path], tmp_path: Path
) -> None:
    assert broker.tls_port is not None
    line = one_line(
        run_tool(
            tool, tmp_path, "--broker", f"mqtts://127.0.0.1:{broker.tls_port}",
            "--ca-file", str(certificates["other-ca.crt"]), env=broker.node_env(NODE),
        ),
        tool,
    )  # fmt: skip
    assert "certificate verify failed" in line and "mqtt.ca_file" in line
    assert broker.node(NODE).password not in line


@pytest.mark.parametrize("tool", TOOLS)
def test_a_refused_password_is_one_line_that_names_the_settings(
    tool: str, broker: SecureBroker, tmp_path: Path
) -> None:
    wrong = "not-the-password-0123"
    line = one_line(
        run_tool(tool, tmp_path, "--broker", f"mqtt://{NODE}:{wrong}@127.0.0.1:{broker.port}"), tool
    )
    assert "refused the connection" in line and "check the user name and password" in line
    assert wrong not in line  # the URL is shown redacted


@pytest.mark.parametrize("tool", TOOLS)
def test_the_right_password_over_tls_gets_past_the_connection(
    tool: str, broker: SecureBroker, certificates: dict[str, Path], tmp_path: Path
) -> None:
    """The control case: the same command with the right CA and password connects (and then does its job)."""
    assert broker.tls_port is not None
    camera = ["--source", str(tmp_path / "none.png")] if tool == "calibrate" else []
    result = run_tool(
        tool, tmp_path, "--broker", f"mqtts://127.0.0.1:{broker.tls_port}",
        "--ca-file", str(certificates["ca.crt"]), *camera,
        env={**broker.node_env(NODE), "DESKPULSE_POSTURE__CALIBRATE_S": "1"},
    )  # fmt: skip
    assert "refused the connection" not in result.stderr and "cannot connect" not in result.stderr
    if tool == "forget":
        assert result.returncode == 0, result.stderr
        assert f"node '{NODE}' is not running" in result.stdout
    else:
        assert f"node '{NODE}' is not online" in result.stdout  # then it tries the camera here


@pytest.mark.parametrize("tool", TOOLS)
def test_a_configured_broker_that_is_not_there_is_one_line(tool: str, tmp_path: Path) -> None:
    line = one_line(run_tool(tool, tmp_path, "--broker", f"mqtt://127.0.0.1:{free_port()}"), tool)
    assert "cannot connect to broker mqtt://127.0.0.1:" in line and "connection refused" in line


def test_calibrate_without_a_broker_configured_and_no_node_uses_the_camera_here(
    tmp_path: Path, photos: dict[str, Path]
) -> None:
    """No broker configured and the embedded one is not up: no node runs here, so the camera is free."""
    result = run_tool(
        "calibrate", tmp_path, "--mqtt-port", str(free_port()),
        "--source", str(photos["astronaut"]), "--loop",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "calibrating with the camera here" in result.stdout
    assert (tmp_path / "data" / "calibration.json").is_file()
