"""Test support: real brokers on free loopback ports, the real daemon as a process, an MQTT watcher.

Nothing here fakes a broker: mosquitto is the Debian binary, amqtt is the embedded broker class.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
SHARED_POSTURE = ROOT.parent / "shared" / "data" / "posture"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


# --------------------------------------------------------------------------- mosquitto


@dataclass
class Mosquitto:
    """A real mosquitto on loopback: TCP `port` and WebSockets `ws_port`."""

    workdir: Path
    port: int = field(default_factory=free_port)
    ws_port: int = field(default_factory=free_port)
    extra_config: str = ""
    config_text: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    def _config(self) -> str:
        if self.config_text is not None:
            return self.config_text
        return (
            "per_listener_settings false\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "log_dest stdout\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            f"listener {self.port} 127.0.0.1\n"
            f"listener {self.ws_port} 127.0.0.1\nprotocol websockets\nsocket_domain ipv4\n"
            f"{self.extra_config}"
        )

    def start(self) -> Mosquitto:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o755)  # mosquitto drops root privileges to its own user
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self._config())
        conf.chmod(0o644)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
        )
        wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


# --------------------------------------------------------------------------- MQTT watcher


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float

    def json(self) -> Any:
        return json.loads(self.payload)


class Watcher:
    """A real paho subscriber that records every message it gets."""

    def __init__(
        self,
        port: int,
        topics: Iterable[str] = ("deskpulse/#",),
        *,
        username: str | None = None,
        password: str | None = None,
        protocol: int = paho.MQTTv311,
        transport: str = "tcp",
    ) -> None:
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self._topics = list(topics)
        self.connected = threading.Event()
        self._pending_subs: set[int] = set()
        self.refused: str | None = None
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=protocol, transport=transport)  # type: ignore[arg-type]
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect_async("127.0.0.1", port, keepalive=10)
        self.client.loop_start()

    def _on_connect(self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            return
        if not self._topics:
            self.connected.set()
            return
        with self._cond:
            for topic in self._topics:
                _rc, mid = client.subscribe(topic, qos=1)
                self._pending_subs.add(mid)

    def _on_subscribe(self, _c: paho.Client, _u: Any, mid: int, _codes: Any, _p: Any) -> None:
        """Connected means subscribed: every SUBACK is in, so nothing published later is missed."""
        with self._cond:
            self._pending_subs.discard(mid)
            if not self._pending_subs:
                self.connected.set()

    def _on_message(self, _c: paho.Client, _u: Any, message: paho.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(
                Received(message.topic, bytes(message.payload), bool(message.retain), time.time())
            )
            self._cond.notify_all()

    def wait_connected(self, timeout: float = 10.0) -> Watcher:
        if not self.connected.wait(timeout):
            raise AssertionError(f"watcher did not connect ({self.refused or 'timeout'})")
        return self

    def wait_for(
        self,
        topic: str,
        predicate: Callable[[Received], bool] = lambda m: True,
        timeout: float = 10.0,
        *,
        after: int = 0,
    ) -> Received:
        """The first message on `topic` (from index `after`) that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.messages[after:]:
                    if paho.topic_matches_sub(topic, message.topic) and predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [m.topic for m in self.messages if paho.topic_matches_sub(topic, m.topic)]
                    raise AssertionError(
                        f"no matching message on {topic} in {timeout} s; got {len(seen)} on it"
                    )
                self._cond.wait(remaining)

    def on(self, topic: str) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if paho.topic_matches_sub(topic, m.topic)]

    def mark(self) -> int:
        with self._cond:
            return len(self.messages)

    def publish(self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# --------------------------------------------------------------------------- the daemon


@dataclass
class Daemon:
    """`python -m edge_node` as a real process."""

    args: list[str]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "daemon.log"

    def start(self) -> Daemon:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DESKPULSE_")}
        env.update(self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "edge_node", *self.args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self, timeout: float = 10.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.alive():
            try:
                self.terminate(10)
            except subprocess.TimeoutExpired:
                self.kill()
