"""Capture: latest-wins hand-off, sources, backoff, and camera loss (a fake device is the only mock)."""

from __future__ import annotations

import itertools
import random
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_node.config import CameraConfig
from edge_node.vision.capture import FAST_RETRIES, Capture, backoff_delay
from edge_node.vision.frames import Frame, LatestSlot
from edge_node.vision.sources import ImageSource, OpenCVSource, SourceError, SourceInfo, make_source
from tests.support import wait_until


def _frame(seq: int) -> Frame:
    return Frame(image=np.zeros((2, 2, 3), np.uint8), ts=time.time(), mono=time.monotonic(), seq=seq)


def test_latest_slot_keeps_newest_and_counts_drops() -> None:
    slot = LatestSlot()
    for seq in range(1, 6):
        slot.put(_frame(seq))
    taken = slot.take(0.1)
    assert taken is not None and taken.seq == 5
    assert slot.dropped == 4
    assert slot.take(0.05) is None


def test_latest_slot_wakes_a_waiting_consumer() -> None:
    slot = LatestSlot()
    threading.Timer(0.05, lambda: slot.put(_frame(1))).start()
    started = time.monotonic()
    assert slot.take(5.0) is not None
    assert time.monotonic() - started < 4.0


def test_backoff_grows_is_capped_and_jittered() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, 1.0, 30.0, rng) for n in range(1, 16)]
    assert all(0.5 <= d <= 1.0 for d in delays[:FAST_RETRIES])  # a camera back soon is seen soon
    assert 1.0 <= delays[FAST_RETRIES] <= 2.0
    assert 4.0 <= delays[FAST_RETRIES + 2] <= 8.0
    assert all(15.0 <= d <= 30.0 for d in delays[FAST_RETRIES + 4 :])
    assert len({round(d, 6) for d in delays[FAST_RETRIES + 4 :]}) > 1  # jitter: not a fixed sleep


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("0", OpenCVSource),
        ("/dev/video3", OpenCVSource),
        ("rtsp://u:p@cam/1", OpenCVSource),
        ("x.png", ImageSource),
    ],
)
def test_make_source_picks_type(spec: str, kind: type) -> None:
    source = make_source(CameraConfig(source=spec))
    assert isinstance(source, kind)
    assert "p@" not in source.description


def test_missing_camera_device_is_not_found() -> None:
    source = make_source(CameraConfig(source="/dev/video-deskpulse-missing"))
    with pytest.raises(SourceError) as caught:
        source.open()
    assert caught.value.kind == "not_found"
    assert "ls /dev/video" in caught.value.to_payload().hint


def _write_video(path: Path, frames: int, fps: float) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((48, 64, 3), i * 10 % 255, np.uint8))
    writer.release()


def test_video_file_plays_at_its_own_rate_then_ends(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    _write_video(video, frames=12, fps=10.0)
    slot = LatestSlot()
    capture = Capture(CameraConfig(source=str(video), max_fps=30), slot)
    seen: list[Frame] = []
    capture.start()
    try:
        started = time.monotonic()
        while time.monotonic() - started < 5 and len(seen) < 12:
            frame = slot.take(0.5)
            if frame is not None:
                seen.append(frame)
        elapsed = seen[-1].mono - seen[0].mono
        # 12 frames at 10 fps span ~1.1 s; read as fast as possible they would take milliseconds.
        assert len(seen) >= 10
        assert elapsed >= 0.8
        assert all(b.ts > a.ts for a, b in itertools.pairwise(seen))
        _, status = wait_until(
            lambda: (s := capture.status("clip"))[1].state == "disconnected" and s, 5, what="stream end"
        )
        assert status.error is not None and status.error.kind == "stream_ended"
        assert "--loop" in status.error.hint
        assert status.retry_at is None
    finally:
        capture.stop()


def test_image_folder_loops_and_reports_resolution(tmp_path: Path) -> None:
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((40, 60, 3), i * 50, np.uint8))
    slot = LatestSlot()
    capture = Capture(CameraConfig(source=str(tmp_path), loop=True, max_fps=50), slot)
    capture.start()
    try:
        frames = [f for f in (slot.take(1.0) for _ in range(8)) if f is not None]
        assert len(frames) >= 6
        assert {int(f.image[0, 0, 0]) for f in frames} == {0, 50, 100}
        _, status = capture.status("folder")
        assert status.state == "connected"
        assert status.resolution == (60, 40)
    finally:
        capture.stop()


class FakeCamera:
    """Stands in for a USB camera device (the one thing that cannot exist here)."""

    def __init__(self, plugged: threading.Event) -> None:
        self.plugged = plugged
        self.opened = 0
        self.closed = 0
        self.description = "fake camera"

    def open(self) -> SourceInfo:
        if not self.plugged.is_set():
            raise SourceError("not_found", "no camera at /dev/video9")
        self.opened += 1
        return SourceInfo((32, 24), 30.0, False)

    def grab(self) -> bool:
        if not self.plugged.is_set():
            raise SourceError("read_failed", "fake camera unplugged")
        time.sleep(1 / 30)
        return True

    def retrieve(self) -> np.ndarray:  # type: ignore[type-arg]
        return np.zeros((24, 32, 3), np.uint8)

    def close(self) -> None:
        self.closed += 1


def test_camera_unplugged_retries_with_backoff_and_recovers() -> None:
    plugged = threading.Event()
    camera = FakeCamera(plugged)
    slot = LatestSlot()
    config = CameraConfig(source="9", retry_min_s=0.1, retry_max_s=0.4)
    capture = Capture(config, slot, source_factory=lambda _c: camera)
    capture.start()
    try:
        _, status = wait_until(
            lambda: (s := capture.status("cam"))[1].attempts >= 3 and s, 10, what="retries"
        )
        assert status.state == "disconnected"
        assert status.error is not None and status.error.kind == "not_found"
        assert status.retry_at is not None
        plugged.set()
        wait_until(lambda: capture.status("cam")[1].state == "connected", 10, what="reconnect")
        assert slot.take(2.0) is not None
        plugged.clear()  # unplugged mid-run
        _, status = wait_until(
            lambda: (s := capture.status("cam"))[1].state == "disconnected" and s, 10, what="loss"
        )
        assert status.error is not None and status.error.kind in ("read_failed", "not_found")
        plugged.set()
        wait_until(lambda: capture.status("cam")[1].state == "connected", 10, what="recovery")
    finally:
        capture.stop()


def test_each_camera_outage_backs_off_from_the_start() -> None:
    plugged = threading.Event()
    camera = FakeCamera(plugged)
    slot = LatestSlot()
    config = CameraConfig(source="9", retry_min_s=0.4, retry_max_s=30.0)
    capture = Capture(config, slot, source_factory=lambda _c: camera)
    capture.start()
    try:
        wait_until(lambda: capture.status("cam")[1].attempts >= 3, 10, what="a first outage")
        plugged.set()
        wait_until(lambda: capture.status("cam")[1].state == "connected", 20, what="reconnect")
        assert slot.take(2.0) is not None
        plugged.clear()  # a second outage, after frames flowed again
        _, status = wait_until(
            lambda: (s := capture.status("cam"))[1].state == "disconnected" and s, 10, what="loss"
        )
        assert status.attempts == 1  # not 4: the first outage's count does not carry over
        assert status.retry_at is not None and status.retry_at - time.time() <= 0.4
    finally:
        capture.stop()


def test_pause_releases_the_device_and_resume_reopens() -> None:
    plugged = threading.Event()
    plugged.set()
    camera = FakeCamera(plugged)
    slot = LatestSlot()
    capture = Capture(CameraConfig(source="9"), slot, source_factory=lambda _c: camera)
    capture.start()
    try:
        wait_until(lambda: capture.source_open, 10, what="open")
        capture.pause()
        wait_until(lambda: capture.status("cam")[1].state == "paused", 10, what="paused")
        assert not capture.source_open
        assert camera.closed == camera.opened
        capture.resume()
        wait_until(lambda: capture.status("cam")[1].state == "connected", 10, what="resumed")
        assert camera.opened == 2
    finally:
        capture.stop()


def test_image_source_reports_a_vanished_file(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.zeros((8, 8, 3), np.uint8))
    source = ImageSource(tmp_path)
    assert source.open() == SourceInfo((8, 8), None, True)
    path.unlink()
    assert source.grab()
    with pytest.raises(SourceError) as caught:
        source.retrieve()
    assert caught.value.kind == "read_failed"


class CountingCamera(FakeCamera):
    """A fake camera at `fps` that counts what is grabbed and what is decoded."""

    def __init__(self, fps: float) -> None:
        plugged = threading.Event()
        plugged.set()
        super().__init__(plugged)
        self.period = 1 / fps
        self.grabs = 0
        self.decodes = 0

    def grab(self) -> bool:
        time.sleep(self.period)
        self.grabs += 1
        return True

    def retrieve(self) -> np.ndarray:  # type: ignore[type-arg]
        self.decodes += 1
        return super().retrieve()


def test_max_fps_hands_off_on_a_grid_and_decodes_only_what_it_hands_off() -> None:
    camera = CountingCamera(fps=15)
    slot = LatestSlot()
    capture = Capture(CameraConfig(source="9", max_fps=10), slot, source_factory=lambda _c: camera)
    taken: list[Frame] = []
    capture.start()
    try:
        started = time.monotonic()
        while time.monotonic() - started < 4.0:
            frame = slot.take(0.5)
            if frame is not None:
                taken.append(frame)
    finally:
        capture.stop()
    left = 1 if slot.take(0) is not None else 0  # handed over after the last take
    handed = len(taken) + slot.dropped + left
    assert camera.decodes == handed  # every decoded frame was handed over
    assert camera.decodes < camera.grabs * 0.85  # a third of the camera's frames were never decoded
    span = taken[-1].mono - taken[0].mono
    # Measured from the last hand-off a 15 fps camera would give 7.5 fps; on the grid it gives ~10.
    assert (len(taken) - 1) / span > 8.5
