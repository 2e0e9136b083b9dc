"""Commands end to end on the secured broker: a fuzz run, retained commands, privacy and persistence.

The real daemon runs against the repository's mosquitto.conf; commands come from the `control` user
as Home Assistant or a signed-in dashboard would send them.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import paho.mqtt.client as paho
import psutil
import pytest

from edge_node.vocabulary import ROTATIONS, SETTINGS
from tests.secure_broker import SecureBroker, secure_broker_fixture  # noqa: F401
from tests.support import Daemon, Received, Watcher, wait_until

pytestmark = pytest.mark.slow

NODE = "desk1"
BASE = f"deskpulse/{NODE}"
# What the node may accept (docs/contract.md: ON/OFF, a number of minutes, low/medium/high, PRESS, plus the
# usual boolean spellings). A fuzz payload that could mean one of these is never sent.
BOOLEAN_WORDS = {"on", "off", "true", "false", "1", "0", "yes", "no"}
SENSITIVITY_WORDS = {"low", "medium", "high"}
FUZZ_COUNT = 1200
BATCH = 50
OVER_BROKER_LIMIT = 1_048_576 + 1  # mosquitto.conf message_size_limit + 1
NODE_ENV = {
    "DESKPULSE_MQTT__KEEPALIVE": "5",
    "DESKPULSE_POSTURE__AWAY_AFTER_S": "1",
    "DESKPULSE_POSTURE__GOOD_AFTER_S": "0.5",
    "DESKPULSE_POSTURE__BAD_AFTER_S": "1",
}


def _could_be_valid(setting: str, payload: bytes) -> bool:
    """True when `payload` might be an accepted command for `setting` (then the fuzzer skips it)."""
    try:
        text = payload.decode("utf-8").strip().lower()
    except UnicodeDecodeError:
        return False
    if setting in ("monitoring", "frames"):
        return text in BOOLEAN_WORDS
    if setting == "alert_minutes":
        try:
            minutes = float(text)
        except ValueError:
            return False
        return math.isfinite(minutes) and 1 <= minutes <= 240
    if setting == "sensitivity":
        return text in SENSITIVITY_WORDS
    if setting == "calibrate":
        return text == "press"
    if setting == "cpu_budget":
        try:
            cores = float(text)
        except ValueError:
            return False
        return math.isfinite(cores) and 0.05 <= cores <= 8
    if setting == "rotation":
        return text.removesuffix("°").strip() in {str(r) for r in ROTATIONS}
    return False


def _fuzz_cases(rng: random.Random) -> list[tuple[str, bytes, bool]]:
    """(setting, payload, retain): random, oversized, wrong-type, malformed and retained commands."""
    printable = [chr(c) for c in range(32, 127)] + list("äöüßéñ€漢字\u041e\uff2f\uff2e\u200b\u202e")

    def random_text(low: int, high: int) -> bytes:
        return "".join(rng.choice(printable) for _ in range(rng.randint(low, high))).encode()

    wrong_types = [
        b"{}", b"[]", b"null", b'{"state": "ON"}', b'["ON"]', b'"ON"', b"ON OFF", b"O N", b"0N",
        b"\x00ON", b"ON\x00", b"-5", b"0", b"0.99", b"240.01", b"1e9", b"-1e-9", b"nan", b"inf", b"-inf",
        b"1,5", b"10 min", b"ten", b"0x10", b"", b" ", b"\t\n", b"\xef\xbb\xbfON", b"\xff\xfe", b"\xc3\x28",
        b"PRESS PRESS", b"press!", b"<script>alert(1)</script>", b"'; DROP TABLE settings; --",
        "\uff2f\uff2e".encode(), "\u041eN".encode(), "\uff2c\uff2f\uff37".encode(), b"\x1b[31m",
        b"%s%s%s%n",
    ]  # fmt: skip
    cases: list[tuple[str, bytes, bool]] = []

    def add(setting: str, payload: bytes, retain: bool = False) -> None:
        if retain or not _could_be_valid(setting, payload):
            cases.append((setting, payload, retain))

    for setting in SETTINGS:
        for payload in wrong_types:
            add(setting, payload)
        for value in (0, -1, 0.5, 240.5, 1e6, -240, 10**20):
            add(setting, str(value).encode())
        # Valid values, retained: a retained command is never acted on.
        for payload in (b"OFF", b"ON", b"5", b"high", b"PRESS"):
            add(setting, payload, retain=True)
    while len(cases) < FUZZ_COUNT:
        kind = rng.random()
        setting = rng.choice(SETTINGS)
        if kind < 0.3:
            add(setting, rng.randbytes(rng.randint(1, 200)))
        elif kind < 0.55:
            add(setting, random_text(1, 40))
        elif kind < 0.65:
            add(setting, rng.choice(wrong_types) * rng.randint(2, 40))
        elif kind < 0.72:
            add(setting, rng.randbytes(1) * rng.randint(65, 512 * 1024))  # oversized
        elif kind < 0.87:
            name = "".join(
                rng.choice("abcdefghijklmnopqrstuvwxyz_-0123456789äß") for _ in range(rng.randint(1, 30))
            )
            add(name if name not in SETTINGS else name + "x", random_text(0, 20))  # unknown setting
        else:
            add(
                setting, str(rng.uniform(-1e4, 1e4) * rng.choice([1, 1e-3, 1e3])).encode() + random_text(0, 3)
            )
    return cases


def _events(watcher: Watcher, after: int = 0) -> list[dict[str, object]]:
    out = []
    for message in watcher.on(f"{BASE}/event"):
        body = message.json()
        if body["event_type"] == "command_rejected":
            out.append(body)
    return out[after:]


def _setting_states(watcher: Watcher) -> dict[str, bytes]:
    """The latest value seen on every `…/<setting>/state`."""
    latest: dict[str, bytes] = {}
    for message in watcher.on(f"{BASE}/+/state"):
        latest[message.topic.split("/")[2]] = message.payload
    return latest


def _control(broker: SecureBroker, topics: tuple[str, ...] = (f"{BASE}/#",)) -> Watcher:
    user = broker.control
    return Watcher(broker.port, topics, username=user.username, password=user.password).wait_connected()


def _start_node(
    broker: SecureBroker, factory: Callable[..., Daemon], source: Path, data_dir: Path, *extra: str, name: str
) -> Daemon:
    return factory(
        "--source", str(source), "--loop", *broker.node_args(NODE), "--data-dir", str(data_dir),
        "--max-fps", "4", *extra, env={**NODE_ENV, **broker.node_env(NODE)}, name=name,
    )  # fmt: skip


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 1_048_576


def test_fuzz_every_set_topic_changes_nothing_and_rejects_each_one(
    secure_broker: SecureBroker, photos: dict[str, Path], daemon_factory: Callable[..., Daemon],
    tmp_path: Path,
) -> None:  # fmt: skip
    rng = random.Random(20240611)
    cases = _fuzz_cases(rng)
    assert len(cases) >= 1000
    assert {setting for setting, _, _ in cases} >= set(SETTINGS)
    assert all(paho.topic_matches_sub(f"{BASE}/+/set", f"{BASE}/{setting}/set") for setting, _, _ in cases)
    control = _control(secure_broker)
    data_dir = tmp_path / "data"
    daemon = _start_node(secure_broker, daemon_factory, photos["astronaut"], data_dir, name="node")
    try:
        control.wait_for(f"{BASE}/availability", lambda m: m.payload == b"online", 60)
        for setting in SETTINGS:
            control.wait_for(f"{BASE}/{setting}/state", timeout=20)
        before = _setting_states(control)
        settings_file = data_dir / "settings.json"
        stored_before = settings_file.read_bytes() if settings_file.exists() else None

        rss: list[float] = []
        sent = 0
        for start in range(0, len(cases), BATCH):
            batch = cases[start : start + BATCH]
            for setting, payload, retain in batch:
                control.publish(f"{BASE}/{setting}/set", payload, retain=retain)
            sent += len(batch)
            wait_until(lambda n=sent: len(_events(control)) >= n, 60, what=f"{sent} rejection events")  # type: ignore[misc]
            if start == 4 * BATCH:
                rss.append(_rss_mb(daemon.process.pid))  # type: ignore[union-attr]
        # A payload over the broker's message_size_limit never reaches the node at all.
        control.publish(f"{BASE}/alert_minutes/set", b"5" * OVER_BROKER_LIMIT)
        # Clearing the retained fuzz commands is itself a retained (empty) command: rejected too.
        retained_topics = sorted({f"{BASE}/{s}/set" for s, _, retain in cases if retain})
        for topic in retained_topics:
            control.publish(topic, b"", retain=True)
        expected = sent + len(retained_topics)
        wait_until(lambda: len(_events(control)) >= expected, 60, what="the clearing rejections")
        time.sleep(1.0)
        rss.append(_rss_mb(daemon.process.pid))  # type: ignore[union-attr]

        events = _events(control)
        assert len(events) == expected  # one event per command, none for the over-limit message
        assert all(e["details"]["reason"] for e in events)  # type: ignore[index]
        reasons = {str(e["details"]["reason"]).split(";")[0] for e in events}  # type: ignore[index]
        assert any("retained" in r for r in reasons)
        assert any("unknown setting" in r for r in reasons)
        assert any("longer than" in r for r in reasons)
        assert any("UTF-8" in r for r in reasons)
        warnings = [ln for ln in daemon.log().splitlines() if "WARNING" in ln and "rejected command" in ln]
        assert len(warnings) == expected  # one warning per rejected command
        assert daemon.alive()
        assert [m.payload for m in control.on(f"{BASE}/availability")] == [b"online"]
        assert _setting_states(control) == before
        assert (settings_file.read_bytes() if settings_file.exists() else None) == stored_before
        print(f"fuzz: {expected} commands rejected; node RSS {rss[0]:.1f} MB -> {rss[1]:.1f} MB")
        assert rss[1] <= rss[0] * 1.10, f"memory grew from {rss[0]:.1f} to {rss[1]:.1f} MB"

        # Still listening: a valid command works at once.
        mark = control.mark()
        control.publish(f"{BASE}/sensitivity/set", b"high")
        control.wait_for(f"{BASE}/sensitivity/state", lambda m: m.payload == b"high", 20, after=mark)
    finally:
        control.close()


def test_retained_command_is_never_acted_on_live_or_after_a_restart(
    secure_broker: SecureBroker, photos: dict[str, Path], daemon_factory: Callable[..., Daemon],
    tmp_path: Path,
) -> None:  # fmt: skip
    control = _control(secure_broker)
    data_dir = tmp_path / "data"
    try:
        first = _start_node(secure_broker, daemon_factory, photos["astronaut"], data_dir, name="first")
        control.wait_for(f"{BASE}/monitoring/state", lambda m: m.payload == b"ON", 60)
        control.wait_for(f"{BASE}/state", lambda m: m.json()["present"] is True, 60)
        mark = control.mark()
        control.publish(f"{BASE}/monitoring/set", b"OFF", retain=True)  # e.g. a misconfigured automation
        event = control.wait_for(
            f"{BASE}/event", lambda m: m.json()["event_type"] == "command_rejected", 20, after=mark
        ).json()
        assert "retained" in event["details"]["reason"]
        assert not [m for m in control.messages[mark:] if m.topic == f"{BASE}/monitoring/state"]
        assert not [
            m
            for m in control.messages[mark:]
            if m.topic == f"{BASE}/state" and m.json()["posture"] == "paused"
        ]

        # The broker keeps the retained command and hands it to the node again on its next connect.
        assert first.terminate(10) == 0
        mark = control.mark()
        _start_node(secure_broker, daemon_factory, photos["astronaut"], data_dir, name="second")
        control.wait_for(f"{BASE}/availability", lambda m: m.payload == b"online", 60, after=mark)
        event = control.wait_for(
            f"{BASE}/event", lambda m: m.json()["event_type"] == "command_rejected", 20, after=mark
        ).json()
        assert "retained" in event["details"]["reason"]
        state = control.wait_for(f"{BASE}/monitoring/state", timeout=10, after=mark)
        assert state.payload == b"ON"
        control.wait_for(f"{BASE}/state", lambda m: m.json()["present"] is True, 60, after=mark)
        assert not [
            m
            for m in control.messages[mark:]
            if m.topic == f"{BASE}/state" and m.json()["posture"] == "paused"
        ]
    finally:
        control.publish(f"{BASE}/monitoring/set", b"", retain=True)
        control.close()


def _video(path: Path, image: Path, frames: int = 40) -> Path:
    picture = cv2.imread(str(image))
    height, width = picture.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (width, height))
    assert writer.isOpened()
    for _ in range(frames):
        writer.write(picture)
    writer.release()
    return path


def _holds_open(pid: int, path: Path) -> bool:
    """Does process `pid` have `path` open right now (seen from outside, in /proc/<pid>/fd)?"""
    target = str(path.resolve())
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) == target:
                return True
        except OSError:
            continue  # closed while we looked
    return False


def _no_frames_for(watcher: Watcher, seconds: float, after: int) -> list[Received]:
    time.sleep(seconds)
    return [m for m in watcher.messages[after:] if m.topic == f"{BASE}/frame" and m.payload]


def test_monitoring_off_releases_the_camera_publishes_no_frames_and_survives_a_restart(
    secure_broker: SecureBroker, photos: dict[str, Path], daemon_factory: Callable[..., Daemon],
    tmp_path: Path,
) -> None:  # fmt: skip
    video = _video(tmp_path / "desk.avi", photos["astronaut"])
    data_dir = tmp_path / "data"
    control = _control(secure_broker)
    try:
        first = _start_node(secure_broker, daemon_factory, video, data_dir, name="first")
        pid = first.process.pid  # type: ignore[union-attr]
        control.wait_for(f"{BASE}/frame", lambda m: len(m.payload) > 0, 60)
        wait_until(lambda: _holds_open(pid, video), 20, what="the node to open the video")

        mark = control.mark()
        control.publish(f"{BASE}/monitoring/set", b"OFF")
        control.wait_for(f"{BASE}/monitoring/state", lambda m: m.payload == b"OFF", 20, after=mark)
        control.wait_for(f"{BASE}/state", lambda m: m.json()["posture"] == "paused", 20, after=mark)
        control.wait_for(f"{BASE}/camera", lambda m: m.json()["state"] == "paused", 20, after=mark)
        control.wait_for(
            f"{BASE}/frame", lambda m: m.payload == b"", 20, after=mark
        )  # retained frame cleared
        wait_until(lambda: not _holds_open(pid, video), 10, what="the node to release the video")
        mark = control.mark()
        assert _no_frames_for(control, 3.0, mark) == []
        assert not _holds_open(pid, video)

        # Paused survives a restart: the device is never opened again until monitoring is ON.
        assert first.terminate(10) == 0
        mark = control.mark()
        second = _start_node(secure_broker, daemon_factory, video, data_dir, name="second")
        pid = second.process.pid  # type: ignore[union-attr]
        control.wait_for(f"{BASE}/availability", lambda m: m.payload == b"online", 60, after=mark)
        assert control.wait_for(f"{BASE}/monitoring/state", timeout=20, after=mark).payload == b"OFF"
        control.wait_for(f"{BASE}/state", lambda m: m.json()["posture"] == "paused", 20, after=mark)
        control.wait_for(f"{BASE}/camera", lambda m: m.json()["state"] == "paused", 20, after=mark)
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            assert not _holds_open(pid, video)
            time.sleep(0.1)
        assert [m for m in control.messages[mark:] if m.topic == f"{BASE}/frame" and m.payload] == []
        late = _control(secure_broker, (f"{BASE}/frame", f"{BASE}/state"))
        try:
            late.wait_for(f"{BASE}/state", timeout=10)
            assert [m for m in late.on(f"{BASE}/frame") if m.payload] == []  # no retained picture
        finally:
            late.close()

        mark = control.mark()
        control.publish(f"{BASE}/monitoring/set", b"ON")
        control.wait_for(f"{BASE}/monitoring/state", lambda m: m.payload == b"ON", 20, after=mark)
        control.wait_for(f"{BASE}/frame", lambda m: len(m.payload) > 0, 60, after=mark)
        wait_until(lambda: _holds_open(pid, video), 20, what="the node to reopen the video")
        control.wait_for(f"{BASE}/state", lambda m: m.json()["present"] is True, 60, after=mark)
    finally:
        control.close()


def test_settings_survive_a_restart(
    secure_broker: SecureBroker, photos: dict[str, Path], daemon_factory: Callable[..., Daemon],
    tmp_path: Path,
) -> None:  # fmt: skip
    data_dir = tmp_path / "data"
    control = _control(secure_broker)
    wanted = {"alert_minutes": b"25", "sensitivity": b"low", "frames": b"OFF"}
    try:
        first = _start_node(secure_broker, daemon_factory, photos["astronaut"], data_dir, name="first")
        control.wait_for(f"{BASE}/availability", lambda m: m.payload == b"online", 60)
        mark = control.mark()
        for setting, value in wanted.items():
            control.publish(f"{BASE}/{setting}/set", value)
        for setting, value in wanted.items():
            control.wait_for(f"{BASE}/{setting}/state", lambda m, v=value: m.payload == v, 20, after=mark)  # type: ignore[misc]
        assert first.terminate(10) == 0

        mark = control.mark()
        _start_node(secure_broker, daemon_factory, photos["astronaut"], data_dir, name="second")
        control.wait_for(f"{BASE}/availability", lambda m: m.payload == b"online", 60, after=mark)
        for setting, value in wanted.items():
            assert control.wait_for(f"{BASE}/{setting}/state", timeout=20, after=mark).payload == value
        state = control.wait_for(f"{BASE}/state", lambda m: m.json()["present"] is True, 60, after=mark)
        assert state.json()["sensitivity"] == "low"
        assert _no_frames_for(control, 3.0, mark) == []  # frames OFF held across the restart
        stored = json.loads((data_dir / "settings.json").read_text())
        assert stored["alert_minutes"] == 25 and stored["sensitivity"] == "low" and stored["frames"] is False
    finally:
        control.close()
