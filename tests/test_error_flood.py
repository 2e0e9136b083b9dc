"""Errors never flood: a pose stage that fails on every frame, driven through the node's real loop.

`Node.run()` itself runs here, in the test's thread: a scripted slot hands it a new frame on every
call and moves the scripted clock, and sets the stop event when the script is over. Everything else
is the node's real parts (engine, controller, publisher, tracker on a real SQLite file) with the
in-memory link and the camera stand-in of test_node_loop.
"""

from __future__ import annotations

import logging
import threading
import tracemalloc
from pathlib import Path

import pytest

from edge_node.node.health import PROCESSING_FAILED, ErrorLog, FailingFrames
from edge_node.vision.frames import Frame, LatestSlot
from edge_node.vision.landmarks import Image, Pose
from edge_node.vision.pose import Detection
from tests.test_node_loop import BLANK, GOOD, START, FakeCamera, MemoryLink, config_for, node_for

FRAME_S = 0.01  # 100 fps: what this machine's pipeline processes (docs/benchmarks.md)
FAILING_FRAMES = 10_000


class BrokenPose:
    """The estimator's interface: a good pose, or an exception on every frame once it is broken."""

    model_name = "landmark fixtures"

    def __init__(self, pose: Pose) -> None:
        self.pose = pose
        self.broken = False
        self.calls = 0

    def detect(self, image_bgr: Image) -> Detection:
        self.calls += 1
        if self.broken:
            raise RuntimeError(f"pose model failed on call {self.calls}")  # a new message every time
        return Detection(self.pose, 1.0)


class ScriptedSlot(LatestSlot):
    """Hands the loop a new frame on every take() and moves the clock; stops the loop after `frames`."""

    def __init__(self, now: list[float], camera: FakeCamera, stop: threading.Event) -> None:
        super().__init__()
        self._now = now
        self._camera = camera
        self._stop = stop
        self.left = 0
        self.seq = 0
        self.on_frame: list[object] = []

    def take(self, timeout: float) -> Frame | None:
        if self.left <= 0:
            self._stop.set()
            return None
        self.left -= 1
        self.seq += 1
        self._now[0] += FRAME_S
        self._camera.ticks += 1
        self._camera.last_frame_mono = self._now[0]
        return Frame(image=BLANK, ts=self._now[0], mono=self._now[0], seq=self.seq)


class LoopDesk:
    """A node whose real `run()` loop is driven frame by frame by a scripted slot."""

    def __init__(self, tmp_path: Path) -> None:
        self.config = config_for(tmp_path)
        self.now = [START]
        self.stop = threading.Event()
        self.link = MemoryLink(self.config.node_id)
        self.camera = FakeCamera(self.now)
        self.camera.set_state("connected")
        self.slot = ScriptedSlot(self.now, self.camera, self.stop)
        self.estimator = BrokenPose(GOOD)
        self.node, self.tracker = node_for(
            self.config, self.estimator, link=self.link, camera=self.camera, clock=self.clock, slot=self.slot
        )

    def clock(self) -> float:
        return self.now[0]

    def run(self, frames: int) -> None:
        """Node.run() over `frames` frames, FRAME_S apart."""
        self.slot.left = frames
        self.stop.clear()
        self.node.run(self.stop)


def test_a_pose_stage_failing_on_every_frame_logs_twice_keeps_memory_flat_and_says_unknown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    desk = LoopDesk(tmp_path)
    try:
        desk.run(300)  # 3 s of a good posture
        assert desk.link.json("state")[-1]["posture"] == "good"
        desk.estimator.broken = True
        broken_at = desk.clock()
        unknown_before = desk.tracker.today(broken_at).unknown_s
        mark = len(desk.link.sent)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="edge_node"):
            desk.run(1_000)
            tracemalloc.start()
            try:
                desk.run(1_000)  # warm: every path of the failing loop has run
                before, _ = tracemalloc.get_traced_memory()
                desk.run(FAILING_FRAMES - 2_000)
                after, _ = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        failing_s = desk.clock() - broken_at
        assert failing_s == pytest.approx(FAILING_FRAMES * FRAME_S)
        lines = [r for r in caplog.records if r.name.startswith("edge_node")]
        # 100 s of failures: the first with its traceback, one summary a minute later, nothing else.
        assert 1 <= len(lines) <= 2, [r.getMessage() for r in lines]
        assert lines[0].exc_info is not None and "processing a frame failed" in lines[0].getMessage()
        if len(lines) == 2:
            assert lines[1].exc_info is None and "more like it" in lines[1].getMessage()
        assert desk.node.errors.count == FAILING_FRAMES
        assert desk.node.errors.kinds == 1
        assert after - before < 64 * 1024, f"traced memory grew by {after - before} bytes over 8,000 frames"

        states = desk.link.json("state", after=mark)
        first_unknown = next(s for s in states if s["posture"] == "unknown")
        assert first_unknown["reason"] == PROCESSING_FAILED
        assert desk.config.posture.unknown_after_s <= first_unknown["ts"] - broken_at
        assert first_unknown["ts"] - broken_at <= desk.config.posture.unknown_after_s + 2 * FRAME_S
        after_switch = [s for s in states if s["ts"] >= first_unknown["ts"]]
        assert {(s["posture"], s["reason"], s["present"]) for s in after_switch} == {
            ("unknown", PROCESSING_FAILED, False)
        }
        heartbeat_s = desk.config.posture.heartbeat_s
        assert len(after_switch) >= int(failing_s // heartbeat_s)  # still published: the heartbeat
        unknown_s = desk.tracker.today(desk.clock()).unknown_s - unknown_before
        assert unknown_s == pytest.approx(failing_s - desk.config.posture.unknown_after_s, abs=0.1)

        desk.estimator.broken = False
        desk.run(300)
        assert desk.link.json("state")[-1]["posture"] == "good"  # back once frames go through again
    finally:
        desk.tracker.close(desk.clock())


def test_the_error_log_remembers_a_bounded_number_of_kinds(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    errors = ErrorLog(60.0, mono=lambda: now[0], max_kinds=8)
    kinds = [type(f"Failure{n}", (Exception,), {}) for n in range(100)]
    with caplog.at_level(logging.ERROR, logger="edge_node.node.health"):
        for kind in kinds:
            errors.report("a stage", kind("boom"))
        assert (errors.kinds, errors.count, len(caplog.records)) == (8, 100, 100)
        errors.report("a stage", kinds[-1]("boom"))  # remembered (among the 8 seen last): not logged
        assert len(caplog.records) == 100
        errors.report("a stage", kinds[0]("boom"))  # forgotten, the oldest went first: logged as new
        assert len(caplog.records) == 101
        assert errors.kinds == 8


def test_a_repeat_line_comes_once_an_interval_with_the_count(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    errors = ErrorLog(60.0, mono=lambda: now[0])
    with caplog.at_level(logging.ERROR, logger="edge_node.node.health"):
        for _ in range(600):  # ten minutes of one error a second
            errors.report("processing a frame", ValueError("bad\nsecond line"))
            now[0] += 1.0
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 10
    assert caplog.records[0].exc_info is not None
    assert all(r.exc_info is None for r in caplog.records[1:])
    assert "ValueError: bad (59 more like it in the last 60 s" in messages[1]
    assert all("second line" not in m for m in messages[1:])


def test_failing_frames_say_so_once_after_the_hold_and_rearm_after_a_good_frame() -> None:
    failing = FailingFrames(3.0)
    assert [failing.failed(t / 10, processed_total=5) for t in range(0, 40)].count(True) == 1
    assert failing.failed(10.0, processed_total=6) is False  # a frame went through: a new run
    assert failing.failed(12.9, processed_total=6) is False
    assert failing.failed(13.0, processed_total=6) is True


def test_publishes_the_link_cannot_queue_log_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    import paho.mqtt.client as paho

    from edge_node.mqtt.link import PublishFailures

    failures = PublishFailures()
    with caplog.at_level(logging.ERROR, logger="edge_node.mqtt.link"):
        for _ in range(1_000):  # a broker that stopped reading: paho's queue is full for every message
            failures.report("deskpulse/desk/state", paho.MQTT_ERR_QUEUE_SIZE)
    assert failures.count == 1_000
    assert len(caplog.records) == 1 and "failed so far" in caplog.records[0].getMessage()
