"""End to end: the real daemon on real photos, against the embedded amqtt and a real mosquitto."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import Daemon, Mosquitto, Watcher, free_port, wait_port

pytestmark = pytest.mark.slow

FAST_POSTURE = {
    "DESKPULSE_POSTURE__AWAY_AFTER_S": "1",
    "DESKPULSE_POSTURE__BAD_AFTER_S": "1",
    "DESKPULSE_POSTURE__GOOD_AFTER_S": "0.5",
    "DESKPULSE_MQTT__KEEPALIVE": "5",
}


def _embedded_args(tmp_path: Path, source: Path, node: str = "desk1") -> tuple[list[str], int]:
    mqtt_port = free_port()
    args = [
        "--source", str(source), "--loop", "--node-id", node, "--data-dir", str(tmp_path / "data"),
        "--mqtt-port", str(mqtt_port), "--ws-port", str(free_port()), "--http-port", str(free_port()),
    ]  # fmt: skip
    return args, mqtt_port


def _state(watcher: Watcher, node: str, predicate: Callable[[dict[str, object]], bool], timeout: float = 40):
    return watcher.wait_for(f"deskpulse/{node}/state", lambda m: predicate(m.json()), timeout).json()


def test_embedded_broker_person_gives_present_state_for_a_late_subscriber(
    tmp_path: Path, photos: dict[str, Path], daemon_factory: Callable[..., Daemon],
    watcher_factory: Callable[..., Watcher],
) -> None:  # fmt: skip
    args, port = _embedded_args(tmp_path, photos["astronaut"])
    daemon = daemon_factory(*args, env=FAST_POSTURE)
    wait_port(port, 60)
    first = watcher_factory(port).wait_connected()
    _state(first, "desk1", lambda s: s["present"] is True)
    # A subscriber that arrives later gets the retained state at once.
    late = watcher_factory(port, ("deskpulse/desk1/state", "deskpulse/desk1/availability"))
    late.wait_connected()
    state = late.wait_for("deskpulse/desk1/state", timeout=5)
    assert state.retain
    body = state.json()
    assert body["present"] is True
    assert body["posture"] in ("good", "bad")
    assert body["frame_ts"] <= body["ts"]
    assert late.wait_for("deskpulse/desk1/availability", timeout=5).payload == b"online"
    info = first.wait_for("deskpulse/desk1/info", timeout=5).json()
    assert info["mqtt_protocol"] == "3.1.1"  # amqtt refuses MQTT 5
    assert "mediapipe" in info["model"]
    frame = first.wait_for("deskpulse/desk1/frame", lambda m: len(m.payload) > 0, timeout=20)
    assert frame.payload[:2] == b"\xff\xd8"  # raw JPEG, not base64
    assert len(frame.payload) <= 40_000
    assert daemon.alive()


def test_embedded_broker_empty_scene_is_away(
    tmp_path: Path, photos: dict[str, Path], daemon_factory: Callable[..., Daemon],
    watcher_factory: Callable[..., Watcher],
) -> None:  # fmt: skip
    args, port = _embedded_args(tmp_path, photos["coffee"])
    daemon_factory(*args, env=FAST_POSTURE)
    wait_port(port, 60)
    watcher = watcher_factory(port).wait_connected()
    state = _state(watcher, "desk1", lambda s: s["posture"] == "away")
    assert state["present"] is False
    # stats follow a posture change at once (the periodic publish is every 30 s)
    stats = watcher.wait_for("deskpulse/desk1/stats", lambda m: m.json()["ts"] >= state["ts"], timeout=5)
    assert stats.json()["today"]["away_s"] >= 0
    camera = watcher.wait_for(
        "deskpulse/desk1/camera", lambda m: m.json()["state"] == "connected", timeout=10
    )
    assert camera.json()["resolution"] == [600, 400]


def test_sigterm_publishes_offline_clears_frame_and_exits_0(
    tmp_path: Path, photos: dict[str, Path], daemon_factory: Callable[..., Daemon],
    watcher_factory: Callable[..., Watcher], mosquitto: Mosquitto,
) -> None:  # fmt: skip
    daemon = daemon_factory(
        "--source", str(photos["astronaut"]), "--loop", "--node-id", "desk2", "--broker", mosquitto.url,
        "--data-dir", str(tmp_path / "data"), env=FAST_POSTURE,
    )  # fmt: skip
    watcher = watcher_factory(mosquitto.port).wait_connected()
    watcher.wait_for("deskpulse/desk2/frame", lambda m: len(m.payload) > 0, timeout=60)
    mark = watcher.mark()
    started = time.monotonic()
    assert daemon.terminate(timeout=10) == 0
    assert time.monotonic() - started < 3.0
    assert watcher.wait_for("deskpulse/desk2/availability", after=mark, timeout=5).payload == b"offline"
    assert watcher.wait_for("deskpulse/desk2/frame", lambda m: m.payload == b"", after=mark, timeout=5)
    # Retained: a new subscriber sees offline and no frame.
    late = watcher_factory(mosquitto.port, ("deskpulse/desk2/#",)).wait_connected()
    assert late.wait_for("deskpulse/desk2/availability", timeout=5).payload == b"offline"
    time.sleep(0.5)
    assert not [m for m in late.on("deskpulse/desk2/frame") if m.payload]


def test_mosquitto_mqtt5_kill9_will_and_broker_restart(
    tmp_path: Path, photos: dict[str, Path], daemon_factory: Callable[..., Daemon],
    watcher_factory: Callable[..., Watcher], mosquitto: Mosquitto,
) -> None:  # fmt: skip
    watcher = watcher_factory(mosquitto.port).wait_connected()  # sees the node's very first state
    daemon = daemon_factory(
        "--source", str(photos["astronaut"]), "--loop", "--node-id", "desk3", "--broker", mosquitto.url,
        "--data-dir", str(tmp_path / "data"), env=FAST_POSTURE,
    )  # fmt: skip
    assert watcher.wait_for("deskpulse/desk3/info", timeout=60).json()["mqtt_protocol"] == "5"
    _state(watcher, "desk3", lambda s: s["present"] is True)
    states = [m.json() for m in watcher.on("deskpulse/desk3/state")]
    first_present = next(i for i, s in enumerate(states) if s["present"])
    # Before the first picture the node says it is starting its camera, not that it has none.
    assert first_present > 0  # the startup state comes before the first verdict (a 0.5 s hold)
    assert states[0]["reason"] == "starting camera"
    # a person in view, the verdict still holding: it says so rather than giving no reason
    assert {(s["posture"], s["reason"]) for s in states[:first_present]} <= {
        ("unknown", "starting camera"),
        ("unknown", "checking posture"),
    }

    # The broker restarts without persistence: every retained topic is gone until the node republishes.
    mosquitto.restart(down_for=1.0)
    back = time.time()
    fresh = watcher_factory(mosquitto.port, ("deskpulse/desk3/#",)).wait_connected()
    online = fresh.wait_for("deskpulse/desk3/availability", lambda m: m.payload == b"online", timeout=15)
    assert online.at - back < 5.0 + 1.0  # reconnect delay is capped at 4 s
    fresh.wait_for("deskpulse/desk3/state", timeout=10)
    late = watcher_factory(mosquitto.port, ("deskpulse/desk3/#",)).wait_connected()
    for leaf in ("state", "camera", "info", "monitoring/state", "availability"):
        assert late.wait_for(f"deskpulse/desk3/{leaf}", timeout=10).retain
    assert late.wait_for("deskpulse/desk3/state", timeout=5).json()["present"] is True

    mark = fresh.mark()
    daemon.kill()
    killed = time.time()
    offline = fresh.wait_for(
        "deskpulse/desk3/availability", lambda m: m.payload == b"offline", after=mark, timeout=15
    )
    assert offline.at - killed <= 5 * 1.5 + 1.0  # keepalive 5 s x 1.5, plus slack for a busy machine


def test_shared_photos_person_and_empty_folders(
    tmp_path: Path, shared_posture: Path, daemon_factory: Callable[..., Daemon],
    watcher_factory: Callable[..., Watcher], mosquitto: Mosquitto,
) -> None:  # fmt: skip
    common = ["--loop", "--broker", mosquitto.url, "--max-fps", "4"]
    daemon_factory(
        "--source", str(shared_posture / "images" / "bad"), "--node-id", "people",
        "--data-dir", str(tmp_path / "a"), *common, env=FAST_POSTURE, name="people",
    )  # fmt: skip
    daemon_factory(
        "--source", str(shared_posture / "images" / "empty"), "--node-id", "nobody",
        "--data-dir", str(tmp_path / "b"), *common, env=FAST_POSTURE, name="nobody",
    )  # fmt: skip
    watcher = watcher_factory(mosquitto.port).wait_connected()
    _state(watcher, "people", lambda s: s["present"] is True, timeout=60)
    _state(watcher, "nobody", lambda s: s["posture"] == "away", timeout=60)
    time.sleep(3)
    nobody = [m.json() for m in watcher.on("deskpulse/nobody/state")]
    assert not any(s["present"] for s in nobody), json.dumps(nobody)[:500]


def test_person_leaving_becomes_away(
    tmp_path: Path, photos: dict[str, Path], daemon_factory: Callable[..., Daemon],
    watcher_factory: Callable[..., Watcher], mosquitto: Mosquitto,
) -> None:  # fmt: skip
    """MediaPipe's tracker can keep a person on an empty scene; the node must still say away."""
    scene = tmp_path / "scene.png"
    shutil.copy(photos["astronaut"], scene)
    daemon_factory(
        "--source", str(scene), "--loop", "--node-id", "leave", "--broker", mosquitto.url,
        "--data-dir", str(tmp_path / "data"), env=FAST_POSTURE,
    )  # fmt: skip
    watcher = watcher_factory(mosquitto.port).wait_connected()
    _state(watcher, "leave", lambda s: s["present"] is True, timeout=60)
    mark = watcher.mark()
    swap = tmp_path / "swap.png"
    shutil.copy(photos["coffee"], swap)
    swap.replace(scene)  # the person gets up: the same camera now shows a table and a cup
    away = watcher.wait_for(
        "deskpulse/leave/state", lambda m: m.json()["posture"] == "away", after=mark, timeout=20
    ).json()
    assert away["present"] is False


def test_a_second_node_on_the_same_data_dir_is_refused_and_the_first_carries_on(
    tmp_path: Path, photos: dict[str, Path], daemon_factory: Callable[..., Daemon],
    watcher_factory: Callable[..., Watcher], mosquitto: Mosquitto,
) -> None:  # fmt: skip
    """Two nodes on one data dir would count the same seconds twice and overwrite each other's settings."""
    data = tmp_path / "data"
    common = [
        "--source", str(photos["astronaut"]), "--loop", "--broker", mosquitto.url, "--data-dir", str(data),
    ]  # fmt: skip
    first = daemon_factory(*common, "--node-id", "one", env=FAST_POSTURE)
    watcher = watcher_factory(mosquitto.port).wait_connected()
    _state(watcher, "one", lambda s: s["present"] is True, timeout=60)
    assert first.process is not None

    second = subprocess.run(
        [sys.executable, "-m", "edge_node", *common, "--node-id", "two"],
        check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("DESKPULSE_")},
    )  # fmt: skip
    assert second.returncode == 2
    assert second.stderr.strip().splitlines() == [
        f"deskpulse-edge: data_dir = '{data}': another deskpulse-edge (pid {first.process.pid}) is using it; "
        "give each node its own --data-dir"
    ]
    assert not watcher.on("deskpulse/two/#")  # it refused before touching the broker
    mark = watcher.mark()
    watcher.wait_for("deskpulse/one/state", after=mark, timeout=40)  # the first carries on
    assert first.alive()

    # The lock is the kernel's: a node killed outright leaves nothing that blocks the next start.
    first.kill()
    assert first.process.wait(10) != 0
    again = daemon_factory(*common, "--node-id", "one", env=FAST_POSTURE)
    mark = watcher.mark()
    watcher.wait_for("deskpulse/one/availability", lambda m: m.payload == b"online", after=mark, timeout=60)
    assert again.alive()


def test_adaptive_node_on_a_scripted_clip_turns_bad_within_the_hold_and_away_after_the_away_time(
    tmp_path: Path, photos: dict[str, Path], daemon_factory: Callable[..., Daemon],
    watcher_factory: Callable[..., Watcher], mosquitto: Mosquitto,
) -> None:  # fmt: skip
    """Good 8 s, leaning 10 s, nobody 16 s, played like a camera: the model runs only when it must,
    yet bad comes within the 3 s hold (+1 s) of the change and away within the 10 s away time (+1 s)."""
    import cv2

    from edge_node.cli.clip import Segment, write_clip

    astronaut = cv2.imread(str(photos["astronaut"]))
    height, width = astronaut.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), -20, 1.0)
    leaning = cv2.warpAffine(astronaut, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    empty = cv2.resize(cv2.imread(str(photos["coffee"])), (width, height))
    clip = tmp_path / "desk.avi"
    write_clip(
        clip,
        [Segment(astronaut, 8.0, "good"), Segment(leaning, 10.0, "bad"), Segment(empty, 16.0, "empty")],
        fps=10.0,
    )
    watcher = watcher_factory(
        mosquitto.port, ("deskpulse/desk9/state", "deskpulse/desk9/stats")
    ).wait_connected()
    daemon_factory(
        "--source", str(clip), "--node-id", "desk9", "--broker", mosquitto.url,
        "--data-dir", str(tmp_path / "data"), env={"DESKPULSE_STATS__PUBLISH_INTERVAL_S": "5"},
    )  # fmt: skip
    first = watcher.wait_for("deskpulse/desk9/state", lambda m: m.json()["frame_ts"] is not None, 90).json()
    start = first["frame_ts"]  # the clip's first frame, as the node stamped it
    bad = watcher.wait_for("deskpulse/desk9/state", lambda m: m.json()["posture"] == "bad", 40).json()
    away = watcher.wait_for("deskpulse/desk9/state", lambda m: m.json()["posture"] == "away", 40).json()
    assert 8.0 + 3.0 - 0.5 <= bad["ts"] - start <= 8.0 + 3.0 + 1.0 + 0.5, bad["ts"] - start
    assert 18.0 + 10.0 - 0.5 <= away["ts"] - start <= 18.0 + 10.0 + 1.0 + 0.5, away["ts"] - start
    postures = [m.json()["posture"] for m in watcher.on("deskpulse/desk9/state")]
    changes = [p for i, p in enumerate(postures) if i == 0 or p != postures[i - 1]]
    assert changes[-3:] == ["good", "bad", "away"]  # no flip a single frame could cause
    stats = watcher.on("deskpulse/desk9/stats")[-1].json()
    assert stats["inferred_frames"] < stats["processed_frames"]  # the model skipped the still frames
