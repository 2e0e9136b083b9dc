"""mqtts:// against the TLS listener of the repository's mosquitto.conf, with a throwaway CA made here.

The certificates are made by the `openssl` command line tool (tests/pki.py) in the test's temporary
folder and live only for the test run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pki import issue, make_ca, need_openssl
from tests.secure_broker import SecureBroker, secure_mosquitto
from tests.support import ROOT, Daemon, Watcher, wait_until

pytestmark = pytest.mark.slow

NODE = "desk1"
BASE = f"deskpulse/{NODE}"
NODE_ENV = {"DESKPULSE_MQTT__KEEPALIVE": "5", "DESKPULSE_MQTT__RECONNECT_MAX_S": "2"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1, a client certificate, and an unrelated CA."""
    need_openssl()
    folder = tmp_path_factory.mktemp("pki")
    ca = make_ca(folder, "ca")
    server = issue(folder, ca, "server", server=True)
    client = issue(folder, ca, NODE, server=False)
    other_ca = make_ca(folder / "other", "other-ca")
    return {
        "ca.crt": ca[0],
        "server.crt": server[0],
        "server.key": server[1],
        "client.crt": client[0],
        "client.key": client[1],
        "other-ca.crt": other_ca[0],
    }


@pytest.fixture
def tls_broker(pki: dict[str, Path]) -> Iterator[SecureBroker]:
    with secure_mosquitto(tls_files=pki) as broker:
        yield broker


@pytest.fixture
def mtls_broker(pki: dict[str, Path]) -> Iterator[SecureBroker]:
    with secure_mosquitto(tls_files=pki, require_certificate=True) as broker:
        yield broker


def _tls_args(broker: SecureBroker, data_dir: Path, *extra: str) -> list[str]:
    assert broker.tls_port is not None
    return [
        "--source", str(data_dir.parent / "scene.png"), "--loop", "--node-id", NODE,
        "--broker", f"mqtts://127.0.0.1:{broker.tls_port}", "--data-dir", str(data_dir), *extra,
    ]  # fmt: skip


def _control(broker: SecureBroker) -> Watcher:
    user = broker.control
    return Watcher(
        broker.port, (f"{BASE}/#",), username=user.username, password=user.password
    ).wait_connected()


@pytest.fixture
def scene(tmp_path: Path, photos: dict[str, Path]) -> Path:
    target = tmp_path / "scene.png"
    shutil.copyfile(photos["astronaut"], target)
    return target


def test_node_over_mqtts_with_the_ca_file(
    tls_broker: SecureBroker, pki: dict[str, Path], daemon_factory: Callable[..., Daemon],
    tmp_path: Path, scene: Path,
) -> None:  # fmt: skip
    control = _control(tls_broker)
    try:
        daemon_factory(
            *_tls_args(tls_broker, tmp_path / "data", "--ca-file", str(pki["ca.crt"])),
            env={**NODE_ENV, **tls_broker.node_env(NODE)},
        )  # fmt: skip
        control.wait_for(f"{BASE}/availability", lambda m: m.payload == b"online", 60)
        info = control.wait_for(f"{BASE}/info", timeout=20).json()
        assert info["config"]["mqtt"]["broker"] == f"mqtts://desk1:***@127.0.0.1:{tls_broker.tls_port}" or (
            info["config"]["mqtt"]["broker"] == f"mqtts://127.0.0.1:{tls_broker.tls_port}"
        )
        assert info["mqtt_protocol"] == "5"
        control.wait_for(f"{BASE}/state", lambda m: m.json()["present"] is True, 60)
        frame = control.wait_for(f"{BASE}/frame", lambda m: len(m.payload) > 0, 30)
        assert frame.payload[:2] == b"\xff\xd8"
    finally:
        control.close()
    assert "New client connected" in tls_broker.log()
    assert f"on port {tls_broker.tls_port}" in tls_broker.log()


def test_server_certificate_from_an_unknown_ca_is_refused_clearly_and_retried(
    tls_broker: SecureBroker, pki: dict[str, Path], daemon_factory: Callable[..., Daemon],
    tmp_path: Path, scene: Path,
) -> None:  # fmt: skip
    daemon = daemon_factory(
        *_tls_args(tls_broker, tmp_path / "data", "--ca-file", str(pki["other-ca.crt"])),
        env={**NODE_ENV, **tls_broker.node_env(NODE)},
    )  # fmt: skip
    line = wait_until(
        lambda: next((ln for ln in daemon.log().splitlines() if "certificate verify failed" in ln), None),
        60,
        what="a log line naming the certificate problem",
    )
    assert "edge_node.mqtt.link" in line
    time.sleep(4)
    assert daemon.alive()
    assert tls_broker.node(NODE).password not in daemon.log()
    attempts = [
        ln
        for ln in daemon.log().splitlines()
        if "edge_node.mqtt.link" in ln and "certificate verify failed" in ln
    ]
    assert 2 <= len(attempts) <= 12
    assert "connected to" not in daemon.log()


def test_client_certificate_when_the_listener_requires_one(
    mtls_broker: SecureBroker, pki: dict[str, Path], daemon_factory: Callable[..., Daemon],
    tmp_path: Path, scene: Path,
) -> None:  # fmt: skip
    control = _control(mtls_broker)
    try:
        without = daemon_factory(
            *_tls_args(mtls_broker, tmp_path / "a", "--ca-file", str(pki["ca.crt"])),
            env={**NODE_ENV, **mtls_broker.node_env(NODE)}, name="without",
        )  # fmt: skip
        time.sleep(8)
        assert without.alive()
        assert not control.on(f"{BASE}/availability")
        log = without.log()
        assert "MQTT 3.1.1" not in log  # a refused TLS handshake is no reason to downgrade the protocol
        refusals = [ln for ln in log.splitlines() if "closed the connection before accepting it" in ln]
        assert refusals and "client certificate" in refusals[0]
        without.stop()

        daemon_factory(
            *_tls_args(
                mtls_broker, tmp_path / "b", "--ca-file", str(pki["ca.crt"]),
                "--cert-file", str(pki["client.crt"]), "--key-file", str(pki["client.key"]),
            ),
            env={**NODE_ENV, **mtls_broker.node_env(NODE)}, name="with",
        )  # fmt: skip
        control.wait_for(f"{BASE}/availability", lambda m: m.payload == b"online", 60)
        assert control.wait_for(f"{BASE}/info", timeout=20).json()["mqtt_protocol"] == "5"
    finally:
        control.close()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--ca-file", "missing-ca.pem"], "cannot load TLS files"),
        (["--cert-file", "c.pem"], "cert_file and mqtt.key_file go together"),
    ],
)
def test_unusable_tls_options_are_a_clear_config_error(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edge_node", "--broker", "mqtts://127.0.0.1:1", "--source", "x.png",
         "--data-dir", str(tmp_path / "data"), *[str(tmp_path / f) if "." in f else f for f in flags]],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("deskpulse-edge:")]
    assert errors and message in errors[0]
    assert "Traceback" not in result.stderr
