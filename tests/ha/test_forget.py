"""`deskpulse-edge forget` against real brokers (mosquitto and the embedded amqtt) and the real daemon."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.secure_broker import BrokerUser, SecureBroker, secure_broker_fixture  # noqa: F401
from tests.support import ROOT, Daemon, Mosquitto, Watcher, free_port, wait_port

pytestmark = pytest.mark.slow

NODE = "forget-me"
DEVICE_CONFIG = f"homeassistant/device/deskpulse_{NODE}/config"


def retained(
    port: int, topic_filter: str, settle_s: float = 1.0, user: BrokerUser | None = None
) -> dict[str, bytes]:
    """The retained messages a new subscriber gets on `topic_filter`."""
    credentials = {"username": user.username, "password": user.password} if user else {}
    watcher = Watcher(port, (topic_filter,), **credentials).wait_connected()
    time.sleep(settle_s)
    watcher.close()
    return {m.topic: m.payload for m in watcher.messages if m.retain and m.payload}


def forget(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DESKPULSE_")}
    return subprocess.run(
        [sys.executable, "-m", "edge_node", "forget", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**environ, **(env or {})},
        check=False,
    )


def start_node(daemon_factory: Callable[..., Daemon], photo: Path, data_dir: Path, *args: str) -> Daemon:
    return daemon_factory(
        "--source", str(photo), "--loop", "--node-id", NODE, "--data-dir", str(data_dir), *args
    )


def test_forget_clears_the_node_and_leaves_others_alone(
    mosquitto: Mosquitto,
    daemon_factory: Callable[..., Daemon],
    photos: dict[str, Path],
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    other = Watcher(mosquitto.port, ()).wait_connected()
    other.publish("deskpulse/other/state", b'{"posture":"good"}', retain=True)
    other.publish("homeassistant/device/deskpulse_other/config", b'{"dev":{}}', retain=True)
    other.close()
    node = start_node(daemon_factory, photos["astronaut"], data_dir, "--broker", mosquitto.url)
    watcher = Watcher(mosquitto.port, (DEVICE_CONFIG, f"deskpulse/{NODE}/state")).wait_connected()
    watcher.wait_for(DEVICE_CONFIG, timeout=90)
    watcher.wait_for(f"deskpulse/{NODE}/state", timeout=30)
    watcher.close()

    running = forget(
        "--broker", mosquitto.url, "--node-id", NODE, "--data-dir", str(data_dir), "--keep-state"
    )
    assert running.returncode == 0, running.stderr
    assert f"node '{NODE}' is still running" in running.stdout
    assert DEVICE_CONFIG not in retained(mosquitto.port, "homeassistant/#")
    assert f"deskpulse/{NODE}/state" in retained(mosquitto.port, f"deskpulse/{NODE}/#")  # --keep-state

    node.terminate()
    assert retained(mosquitto.port, f"deskpulse/{NODE}/availability") == {
        f"deskpulse/{NODE}/availability": b"offline"
    }
    result = forget("--broker", mosquitto.url, "--node-id", NODE, "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert f"node '{NODE}' is not running" in result.stdout
    assert f"under deskpulse/{NODE}/" in result.stdout
    assert retained(mosquitto.port, f"deskpulse/{NODE}/#") == {}
    assert retained(mosquitto.port, "homeassistant/#") == {
        "homeassistant/device/deskpulse_other/config": b'{"dev":{}}'
    }
    assert retained(mosquitto.port, "deskpulse/other/#") == {"deskpulse/other/state": b'{"posture":"good"}'}
    assert not (data_dir / "discovery.json").exists()


def test_forget_clears_per_component_configs_found_on_the_broker(mosquitto: Mosquitto) -> None:
    publisher = Watcher(mosquitto.port, ()).wait_connected()
    leftovers = {
        f"homeassistant/sensor/deskpulse_{NODE}/posture/config": b'{"name":"Posture"}',
        f"homeassistant/sensor/deskpulse_{NODE}/renamed_long_ago/config": b'{"name":"Old"}',
        f"deskpulse/{NODE}/stats": b"{}",
    }
    for topic, payload in leftovers.items():
        publisher.publish(topic, payload, retain=True)
    publisher.close()
    result = forget("--broker", mosquitto.url, "--node-id", NODE, "--data-dir", str(mosquitto.workdir / "d"))
    assert result.returncode == 0, result.stderr
    assert retained(mosquitto.port, "#") == {}


def test_forget_works_on_the_embedded_broker(
    daemon_factory: Callable[..., Daemon], photos: dict[str, Path], tmp_path: Path
) -> None:
    ports = [str(free_port()) for _ in range(3)]
    node = start_node(
        daemon_factory,
        photos["astronaut"],
        tmp_path / "data",
        *("--mqtt-port", ports[0], "--ws-port", ports[1], "--http-port", ports[2]),
    )
    wait_port(int(ports[0]), timeout=90)
    watcher = Watcher(int(ports[0]), (DEVICE_CONFIG,)).wait_connected()
    watcher.wait_for(DEVICE_CONFIG, timeout=60)
    watcher.close()
    result = forget("--mqtt-port", ports[0], "--node-id", NODE, "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert "still running" in result.stdout  # the embedded broker lives inside the running node
    # The running node keeps publishing its state; its discovery returns only on a reconnect.
    assert retained(int(ports[0]), "homeassistant/#") == {}
    node.stop()


def test_forget_with_the_nodes_own_user_on_the_secured_broker(
    secure_broker: SecureBroker,
    daemon_factory: Callable[..., Daemon],
    photos: dict[str, Path],
    tmp_path: Path,
) -> None:
    """The ACL lets a node write its discovery configs but not read them back: forget still clears them."""
    node_id = secure_broker.node().username
    device_config = f"homeassistant/device/deskpulse_{node_id}/config"
    data_dir = tmp_path / "data"
    args = [*secure_broker.node_args(), "--data-dir", str(data_dir)]
    node = daemon_factory(*args, "--source", str(photos["astronaut"]), "--loop", env=secure_broker.node_env())
    control = secure_broker.control
    watcher = Watcher(
        secure_broker.port, (device_config,), username=control.username, password=control.password
    )
    watcher.wait_connected().wait_for(device_config, timeout=90)
    watcher.close()
    node.terminate()

    result = forget(*args, env=secure_broker.node_env())
    assert result.returncode == 0, result.stderr
    assert f"node '{node_id}' is not running" in result.stdout
    assert retained(secure_broker.port, "homeassistant/#", user=control) == {}
    assert retained(secure_broker.port, f"deskpulse/{node_id}/#", user=control) == {}


def test_forget_without_a_broker_says_so(tmp_path: Path) -> None:
    result = forget(
        "--broker", f"mqtt://127.0.0.1:{free_port()}", "--node-id", NODE, "--data-dir", str(tmp_path)
    )
    assert result.returncode == 2
    assert "cannot connect to broker mqtt://127.0.0.1:" in result.stderr
