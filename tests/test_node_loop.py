"""The node's loop in-process: its real parts with an in-memory link, a scripted clock and frames.

The pose estimator is either MediaPipe on a real photo or a script of landmark fixtures; the camera is
the only stand-in (no device here). These run in seconds; the daemon as a process (signals, kill -9,
systemd, real brokers) is covered by test_daemon.py, test_faults.py and test_watchdog.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge_node.config import Config, validate_config
from edge_node.datadir import JsonStore
from edge_node.mqtt.message import Message
from edge_node.mqtt.topics import NodeTopics
from edge_node.node import Node
from edge_node.payloads import CameraError, CameraStatus
from edge_node.stats.tracker import Tracker, open_tracker
from edge_node.vision.frames import Frame, LatestSlot
from edge_node.vision.landmarks import Image, Pose
from edge_node.vision.pose import Detection
from edge_node.vocabulary import SETTINGS, CameraStateName
from tests.poses import make_pose, side_view

START = 1_800_000_000.0  # a real date: the tracker ignores a clock that is not set
FRAME_S = 0.1
GOOD = make_pose(side_view(neck_deg=15, torso_deg=0))
SLOUCH = make_pose(side_view(neck_deg=40, torso_deg=30))
BLANK: Image = np.zeros((480, 640, 3), np.uint8)


class MemoryLink:
    """The link's interface, keeping what the node publishes in order (no broker in these tests)."""

    connected = True
    protocol_name = "3.1.1"

    def __init__(self, node_id: str) -> None:
        self.topics = NodeTopics(node_id)
        self.sent: list[Message] = []
        self.republished = 0

    def publish(self, message: Message) -> None:
        self.sent.append(message)

    def republish(self) -> None:
        self.republished += 1

    def on(self, leaf: str, *, after: int = 0) -> list[Message]:
        topic = f"{self.topics.base}/{leaf}"
        return [m for m in self.sent[after:] if m.topic == topic]

    def json(self, leaf: str, *, after: int = 0) -> list[dict[str, Any]]:
        return [json.loads(m.payload) for m in self.on(leaf, after=after) if m.payload]

    def text(self, leaf: str) -> str:
        return self.on(leaf)[-1].payload.decode()

    def events(self, event_type: str, *, after: int = 0) -> list[dict[str, Any]]:
        return [e for e in self.json("event", after=after) if e["event_type"] == event_type]


class FakeCamera:
    """The capture thread's surface without a device: the test says what state the camera is in."""

    def __init__(self, now: list[float]) -> None:
        self._now = now
        self.ticks = 0
        self.last_frame_mono: float | None = None
        self.started = self.paused = False
        self.stalled: list[float] = []
        self.rates: list[float] = []
        self._state: CameraStateName = "disconnected"
        self._error: CameraError | None = None
        self._version = 0

    def start(self) -> None:
        self.started = True

    def stop(self, timeout: float = 2.0) -> None:
        self.started = False

    def pause(self) -> None:
        self.paused = True
        self.set_state("paused")

    def resume(self) -> None:
        self.paused = False
        self.set_state("disconnected")

    def set_state(self, state: CameraStateName, error: CameraError | None = None) -> None:
        self._state, self._error = state, error
        self._version += 1

    def status(self, source_label: str) -> tuple[int, CameraStatus]:
        now = self._now[0]
        status = CameraStatus(state=self._state, source=source_label, error=self._error, since=now, ts=now)
        return self._version, status

    def mark_stalled(self, seconds: float) -> None:
        self.stalled.append(seconds)

    def set_rate(self, fps: float) -> None:
        self.rates.append(fps)


class ScriptedPoses:
    """The estimator's interface, answering with the landmark fixture the test sets."""

    model_name = "landmark fixtures"

    def __init__(self) -> None:
        self.pose: Pose | None = None

    def detect(self, image_bgr: Image) -> Detection:
        return Detection(self.pose, 1.0)


def node_for(
    config: Config,
    estimator: Any,
    *,
    link: MemoryLink,
    camera: FakeCamera,
    clock: Callable[[], float],
    mono: Callable[[], float] | None = None,
    slot: LatestSlot | None = None,
    tracker: Tracker | None = None,
) -> tuple[Node, Tracker]:
    """A node with its real parts on scripted clocks (the tracker's writes in the caller's thread)."""
    if tracker is None:
        tracker = open_tracker(
            node_id=config.node_id,
            alerts=config.alerts,
            stats=config.stats,
            data_dir=config.data_dir,
            clock=clock,
            background_writes=False,
        )
    node = Node(
        config,
        link=link,
        capture=camera,  # type: ignore[arg-type]
        slot=slot or LatestSlot(),
        estimator=estimator,
        tracker=tracker,
        store=JsonStore(config.data_dir),
        clock=clock,
        mono=mono or clock,
    )
    return node, tracker


@dataclass
class Desk:
    """A node with its real parts (engine, controller, publisher, tracker, stores) on a scripted clock."""

    config: Config
    estimator: Any
    now: list[float] = field(default_factory=lambda: [START])
    seq: int = 0

    def __post_init__(self) -> None:
        self.link = MemoryLink(self.config.node_id)
        self.camera = FakeCamera(self.now)
        self.slot = LatestSlot()
        self.node, self.tracker = node_for(
            self.config, self.estimator, link=self.link, camera=self.camera, clock=self.clock, slot=self.slot
        )

    def clock(self) -> float:
        return self.now[0]

    def start(self, *, camera: CameraStateName = "connected") -> None:
        self.node.publish_startup()
        self.camera.set_state(camera)
        self.node.tick(self.clock())

    def frames(self, seconds: float, image: Image = BLANK) -> None:
        """Frames at 10 fps for `seconds`, each processed and followed by a tick, as the loop does."""
        for _ in range(round(seconds / FRAME_S)):
            self.now[0] += FRAME_S
            self.seq += 1
            self.camera.ticks += 1
            self.camera.last_frame_mono = self.now[0]
            self.node.process(Frame(image=image, ts=self.now[0], mono=self.now[0], seq=self.seq))
            self.node.tick(self.now[0])

    def idle(self, seconds: float) -> None:
        """Loop passes without frames (0.2 s each, the loop's wait)."""
        for _ in range(round(seconds / 0.2)):
            self.now[0] += 0.2
            self.node.tick(self.now[0])

    def command(self, setting: str, payload: str, *, retained: bool = False) -> None:
        self.node.inbox.on_message(
            f"deskpulse/{self.config.node_id}/{setting}/set", payload.encode(), retained
        )
        self.node.tick(self.clock())

    def posture(self) -> str:
        return str(self.link.json("state")[-1]["posture"])

    def close(self) -> None:
        self.tracker.close(self.clock())


def config_for(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    data: dict[str, Any] = {
        "node_id": "desk",
        "data_dir": str(tmp_path / "data"),
        "camera": {"source": "test camera"},
        "homeassistant": {"enabled": False},
    }
    data.update(sections)
    return validate_config(data)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    made = Desk(config_for(tmp_path), ScriptedPoses())
    yield made
    made.close()


# ----------------------------------------------------------------------------- start and first states


def test_startup_publishes_every_retained_topic_then_says_it_is_starting_the_camera(desk: Desk) -> None:
    desk.node.publish_startup()
    leaves = [m.topic.removeprefix("deskpulse/desk/") for m in desk.link.sent]
    assert leaves[:1] == ["info"]
    settings = len(SETTINGS)
    assert leaves[1 : 1 + settings] == [f"{s}/state" for s in SETTINGS]
    assert leaves[1 + settings] == "camera"
    assert set(leaves[2 + settings : -2]) == {"state"}  # the camera is not open yet: the state says so
    assert leaves[-2:] == ["stats", "history"]
    first = desk.link.json("state")[0]
    assert (first["posture"], first["reason"], first["present"]) == ("unknown", "starting camera", False)
    assert all(m.retain for m in desk.link.sent)


def test_first_verdict_comes_after_checking_posture_and_holds(desk: Desk) -> None:
    desk.start()
    desk.estimator.pose = GOOD
    desk.frames(0.3)
    assert (desk.posture(), desk.link.json("state")[-1]["reason"]) == ("unknown", "checking posture")
    desk.frames(1.5)
    state = desk.link.json("state")[-1]
    assert (state["posture"], state["present"], state["view"]) == ("good", True, "side")
    assert state["frame_ts"] == pytest.approx(desk.clock() - 0.3, abs=0.5)
    # Published on change only (the heartbeat aside): nothing repeats while the frames say the same.
    said = [(s["posture"], s["reason"]) for s in desk.link.json("state")]
    assert said[-2:] == [("unknown", "checking posture"), ("good", None)]
    assert set(said[:-2]) == {("unknown", "starting camera")}


def test_slouch_turns_bad_after_the_hold_and_nobody_turns_away(desk: Desk) -> None:
    desk.start()
    desk.estimator.pose = GOOD
    desk.frames(2.0)
    desk.estimator.pose = SLOUCH
    desk.frames(2.5)
    assert desk.posture() == "good"  # 3 s hold: a slouch shorter than that is not reported
    desk.frames(1.0)
    state = desk.link.json("state")[-1]
    assert state["posture"] == "bad" and "forward_head" in state["reasons"]
    desk.estimator.pose = None
    desk.frames(9.0)
    assert desk.posture() == "bad"
    desk.frames(2.0)
    assert desk.posture() == "away"


def test_frames_are_throttled_and_raw_jpeg(desk: Desk) -> None:
    desk.start()
    desk.frames(3.0)
    frames = [m for m in desk.link.on("frame") if m.payload]
    assert len(frames) == 3  # 30 frames in 3 s, one a second
    assert all(m.payload[:2] == b"\xff\xd8" and m.content_type == "image/jpeg" for m in frames)


def test_a_lost_camera_says_why_and_clears_the_picture(desk: Desk) -> None:
    desk.start()
    desk.estimator.pose = GOOD
    desk.frames(2.0)
    mark = len(desk.link.sent)
    error = CameraError(kind="not_found", message="no camera at /dev/video0", hint="plug it in")
    desk.camera.set_state("disconnected", error)
    desk.idle(0.2)
    state = desk.link.json("state", after=mark)[-1]
    assert (state["posture"], state["reason"]) == ("unknown", "camera not found")
    assert [m.payload for m in desk.link.on("frame", after=mark)] == [b""]
    assert desk.link.json("camera", after=mark)[-1]["error"]["kind"] == "not_found"


def test_no_frames_while_connected_marks_the_camera_stalled(desk: Desk) -> None:
    desk.start()
    desk.frames(1.0)
    desk.idle(4.0)
    assert desk.camera.stalled == []
    desk.idle(1.2)
    assert desk.camera.stalled and desk.camera.stalled[0] >= desk.config.camera.stall_s


# ----------------------------------------------------------------------------- commands


def test_monitoring_off_releases_the_camera_clears_the_frame_and_pauses(desk: Desk) -> None:
    desk.start()
    desk.estimator.pose = GOOD
    desk.frames(2.0)
    mark = len(desk.link.sent)
    desk.command("monitoring", "OFF")
    assert desk.camera.paused
    assert desk.link.text("monitoring/state") == "OFF"
    state = desk.link.json("state", after=mark)[-1]
    assert (state["posture"], state["reason"], state["frame_ts"]) == ("paused", "monitoring is off", None)
    assert [m.payload for m in desk.link.on("frame", after=mark)] == [b""]
    desk.command("monitoring", "ON")
    assert not desk.camera.paused
    assert (desk.posture(), desk.link.json("state")[-1]["reason"]) == ("unknown", "starting camera")


def test_a_bad_command_changes_nothing_and_says_why(desk: Desk) -> None:
    desk.start()
    before = desk.link.text("alert_minutes/state")
    mark = len(desk.link.sent)
    desk.command("alert_minutes", "1000")
    desk.command("alert_minutes", "5", retained=True)
    desk.command("volume", "11")
    rejected = desk.link.events("command_rejected", after=mark)
    assert [e["details"]["setting"] for e in rejected] == ["alert_minutes", "alert_minutes", "volume"]
    assert "retained" in rejected[1]["details"]["reason"]
    assert desk.link.text("alert_minutes/state") == before
    assert not desk.link.on("alert_minutes/state", after=mark)
    assert not (desk.config.data_dir / "settings.json").exists()


def test_a_setting_changed_over_mqtt_survives_a_restart(tmp_path: Path) -> None:
    first = Desk(config_for(tmp_path), ScriptedPoses())
    first.start()
    first.command("sensitivity", "high")
    first.command("alert_minutes", "2.5")
    assert (first.link.text("sensitivity/state"), first.link.text("alert_minutes/state")) == ("high", "2.5")
    first.close()
    second = Desk(config_for(tmp_path), ScriptedPoses())
    second.start()
    assert (second.link.text("sensitivity/state"), second.link.text("alert_minutes/state")) == ("high", "2.5")
    assert second.link.json("state")[-1]["sensitivity"] == "high"
    second.close()


def test_home_assistant_birth_republishes_once_after_a_short_random_delay(desk: Desk) -> None:
    desk.start()
    desk.node.inbox.on_message("homeassistant/status", b"online", False)
    desk.idle(0.2)
    assert desk.link.republished == 0
    desk.idle(5.0)
    assert desk.link.republished == 1


# ----------------------------------------------------------------------------- calibration


def test_calibration_records_the_good_posture_and_judges_against_it(desk: Desk) -> None:
    desk.start()
    desk.estimator.pose = GOOD
    desk.frames(2.0)
    desk.command("calibrate", "PRESS")
    assert desk.link.text("calibrate/state") == "calibrating"
    desk.frames(desk.config.posture.calibrate_s + 0.2)
    assert desk.link.text("calibrate/state") == "calibrated"
    (event,) = desk.link.events("calibrated")
    assert event["details"]["view"] == "side"
    assert desk.link.json("state")[-1]["calibrated"] is True
    assert (desk.config.data_dir / "calibration.json").is_file()


def test_calibration_with_nobody_in_view_is_refused_with_a_reason(desk: Desk) -> None:
    desk.start()
    desk.command("calibrate", "PRESS")
    desk.frames(desk.config.posture.calibrate_s + 0.2)
    (failed,) = desk.link.events("calibration_failed")
    assert "nobody in view" in failed["message"]
    assert desk.link.text("calibrate/state") == "uncalibrated"


def test_calibration_stops_when_monitoring_is_turned_off(desk: Desk) -> None:
    desk.start()
    desk.estimator.pose = GOOD
    desk.frames(1.0)
    desk.command("calibrate", "PRESS")
    desk.command("monitoring", "OFF")
    (failed,) = desk.link.events("calibration_failed")
    assert "turned off" in failed["message"]
    assert desk.link.text("calibrate/state") == "uncalibrated"


# ----------------------------------------------------------------------------- pose


def test_pose_is_small_throttled_and_shows_the_broken_measure(desk: Desk) -> None:
    desk.start()
    desk.estimator.pose = SLOUCH
    desk.frames(5.0)
    poses = desk.link.on("pose")
    assert 20 <= len(poses) <= 26  # 50 frames in 5 s, at most 5 a second
    assert all(len(m.payload) < 1024 and not m.retain and m.qos == 0 for m in poses)  # MQTT 3.1.1
    last = json.loads(poses[-1].payload)
    assert last["posture"] == "bad" and last["view"] == "side"
    assert {"nose", "left_ear", "left_shoulder", "left_hip"} <= set(last["points"])
    assert all(0 <= v <= 1 for point in last["points"].values() for v in point)
    neck = next(line for line in last["lines"] if line["measure"] == "neck_deg")
    assert (neck["name"], neck["op"], neck["broken"]) == ("neck", ">", True)
    assert neck["value"] == pytest.approx(40, abs=0.5) and neck["limit"] == pytest.approx(25)
    assert last["frame_ts"] == pytest.approx(desk.clock(), abs=0.25)  # the newest frame it came from
    mark = len(desk.link.sent)
    desk.estimator.pose = None
    desk.frames(1.0)
    assert desk.link.on("pose", after=mark) == []  # nothing with nobody in view


def test_on_mqtt5_pose_is_retained_with_a_short_expiry(tmp_path: Path) -> None:
    desk = Desk(config_for(tmp_path), ScriptedPoses())
    desk.link.protocol_name = "5"  # type: ignore[misc]
    try:
        desk.start()
        desk.estimator.pose = GOOD
        desk.frames(1.0)
        pose = desk.link.on("pose")[-1]
        assert pose.retain and pose.expiry_s == 2
    finally:
        desk.close()


def test_frames_overlay_burns_the_skeleton_into_the_published_picture(
    tmp_path: Path, photos: dict[str, Path]
) -> None:
    import cv2

    from edge_node.vision.pose import PoseEstimator

    image = cv2.imread(str(photos["astronaut"]))
    estimator = PoseEstimator(static_images=True)
    published: dict[bool, tuple[np.ndarray, dict[str, Any]]] = {}
    try:
        for overlay in (False, True):
            desk = Desk(config_for(tmp_path / str(overlay), frames={"overlay": overlay}), estimator)
            desk.start()
            desk.frames(1.2, image)
            frame = [m for m in desk.link.on("frame") if m.payload][-1]
            picture = cv2.imdecode(np.frombuffer(frame.payload, np.uint8), cv2.IMREAD_COLOR)
            published[overlay] = (picture, desk.link.json("pose")[-1])
            desk.close()
    finally:
        estimator.close()
    (raw, pose), (drawn, _) = published[False], published[True]
    height, width = raw.shape[:2]
    differs = []
    for x, y, _visibility in pose["points"].values():
        px, py = round(x * (width - 1)), round(y * (height - 1))
        differs.append(float(np.abs(raw[py, px].astype(int) - drawn[py, px].astype(int)).sum()))
    assert min(differs) > 60, differs  # a drawn joint at every landmark
    assert np.abs(raw.astype(int) - drawn.astype(int)).mean() < 20  # and the rest of the picture as it was


# ----------------------------------------------------------------------------- real MediaPipe


def test_a_camera_mounted_sideways_is_named_and_fixed_by_the_rotation_setting(
    tmp_path: Path, photos: dict[str, Path]
) -> None:
    import cv2

    from edge_node.vision.pose import PoseEstimator

    upright = cv2.imread(str(photos["astronaut"]))[:400]  # landscape: 512 wide, 400 high
    sideways = cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE)
    estimator = PoseEstimator(static_images=True)
    desk = Desk(config_for(tmp_path), estimator)
    try:
        desk.start()
        desk.frames(4.0, sideways)
        state = desk.link.json("state")[-1]
        assert state["posture"] == "unknown"
        assert state["reason"] == "picture turned: set camera.rotation to 270"
        desk.command("rotation", "270")
        assert desk.link.text("rotation/state") == "270"
        mark = len(desk.link.sent)
        desk.frames(3.0, sideways)
        state = desk.link.json("state")[-1]
        assert (state["posture"], state["present"], state["view"]) == ("good", True, "front")
        frame = next(m for m in desk.link.on("frame", after=mark) if m.payload)
        picture = cv2.imdecode(np.frombuffer(frame.payload, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape[:2] == (400, 512)  # published upright, as judged
    finally:
        desk.close()
        estimator.close()


def test_a_front_view_without_calibration_recommends_calibrating(
    tmp_path: Path, photos: dict[str, Path]
) -> None:
    import cv2

    from edge_node.vision.pose import PoseEstimator

    estimator = PoseEstimator(static_images=True)
    desk = Desk(config_for(tmp_path), estimator)
    try:
        desk.start()
        desk.frames(2.5, cv2.imread(str(photos["astronaut"])))
        state = desk.link.json("state")[-1]
        assert (state["view"], state["calibrated"], state["calibration_recommended"]) == (
            "front",
            False,
            True,
        )
    finally:
        desk.close()
        estimator.close()


def test_real_mediapipe_on_a_real_photo_gives_a_present_verdict(
    tmp_path: Path, photos: dict[str, Path]
) -> None:
    import cv2

    from edge_node.vision.pose import PoseEstimator

    estimator = PoseEstimator(static_images=True)
    desk = Desk(config_for(tmp_path), estimator)
    try:
        desk.start()
        image = cv2.imread(str(photos["astronaut"]))
        desk.frames(2.5, image)
        state = desk.link.json("state")[-1]
        assert state["present"] is True
        assert state["posture"] in ("good", "bad")
        assert state["view"] == "front"
        stats_seen = desk.link.json("stats")
        assert stats_seen[-1]["inference_ms"] is None or stats_seen[-1]["inference_ms"] > 0
    finally:
        desk.close()
        estimator.close()
