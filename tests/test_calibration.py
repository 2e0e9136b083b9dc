"""Calibration: robust statistics and refusals (pure), then the real daemon and CLI on real photos."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_node.datadir import JsonStore
from edge_node.posture.calibration import CalibrationRefused, Calibrator
from edge_node.posture.geometry import NO_PERSON, Baseline, Reading, classify
from tests.support import ROOT, Daemon, Mosquitto, Watcher


def side(neck: float, torso: float = -5.0) -> Reading:
    return Reading(
        person=True,
        verdict="good",
        view="side",
        measures={"neck_deg": neck, "torso_deg": torso},
        confidence=0.9,
    )


def front(head_height: float = 0.52, face_width: float = 0.41) -> Reading:
    measures = {"head_height_ratio": head_height, "face_width_ratio": face_width, "shoulder_tilt_deg": 1.0}
    return Reading(person=True, verdict="good", view="front", measures=measures, confidence=0.9)


NO_SHOULDERS = Reading(person=True, verdict="unknown", reasons=("no_shoulders",), view="unknown")


def record(readings: list[Reading], seconds: float = 5.0) -> Calibrator:
    calibrator = Calibrator(started_at=100.0, duration_s=seconds)
    for reading in readings:
        calibrator.add(reading)
    return calibrator


# ----------------------------------------------------------------------------- pure


def test_the_baseline_is_the_median_and_ignores_a_few_odd_frames() -> None:
    frames = [side(14.0 + (i % 5) * 0.5) for i in range(40)] + [side(60.0, 40.0), side(-20.0, -40.0)]
    calibrator = record(frames)
    assert not calibrator.done(104.9)
    assert calibrator.done(105.0)
    baseline = calibrator.finish(105.0)
    assert baseline.view == "side"
    assert baseline.measures["neck_deg"] == pytest.approx(15.0)
    assert baseline.measures["torso_deg"] == pytest.approx(-5.0)
    assert baseline.spread["neck_deg"] == pytest.approx(0.5)
    assert baseline.frames == 42
    assert baseline.created_at == 105.0


def test_only_the_view_seen_most_enters_the_baseline() -> None:
    baseline = record([front()] * 30 + [side(15.0)] * 5).finish(105.0)
    assert baseline.view == "front"
    assert set(baseline.measures) == {"head_height_ratio", "face_width_ratio", "shoulder_tilt_deg"}
    assert baseline.frames == 30


def test_nobody_in_view_is_refused() -> None:
    with pytest.raises(CalibrationRefused, match="nobody in view: a person was seen in 2 of 40 frames"):
        record([NO_PERSON] * 38 + [side(15.0)] * 2).finish(105.0)


def test_no_frames_at_all_is_refused() -> None:
    with pytest.raises(CalibrationRefused, match="no frames arrived"):
        record([]).finish(105.0)


def test_too_few_frames_are_refused_as_too_few_not_as_nobody() -> None:
    with pytest.raises(CalibrationRefused, match="only 3 frames arrived"):
        record([side(15.0)] * 3).finish(105.0)


def test_a_person_whose_posture_cannot_be_measured_is_refused_with_what_is_missing() -> None:
    with pytest.raises(
        CalibrationRefused, match="shoulders not in view: the posture could be measured in only 0"
    ):
        record([NO_SHOULDERS] * 40).finish(105.0)


def test_moving_during_calibration_is_refused() -> None:
    with pytest.raises(CalibrationRefused, match="you moved during calibration"):
        record([side(5.0 + (i % 2) * 20) for i in range(40)]).finish(105.0)


@pytest.mark.parametrize(
    ("reading", "words"),
    [(side(42.0), "forward head"), (side(15.0, 38.0), "slouching"), (front(head_height=0.2), "forward head")],
)
def test_a_clearly_bad_posture_is_not_accepted_as_the_baseline(reading: Reading, words: str) -> None:
    with pytest.raises(CalibrationRefused, match=f"not a good one \\({words}"):
        record([reading] * 40).finish(105.0)


def test_baseline_files_round_trip_and_older_files_without_spread_still_load(tmp_path: Path) -> None:
    store = JsonStore(tmp_path)
    baseline = record([side(15.0)] * 20).finish(105.0)
    store.save("calibration", baseline)
    assert store.load("calibration", Baseline) == baseline
    (tmp_path / "old.json").write_text(json.dumps({"v": 1, "view": "side", "measures": {"neck_deg": 12.0}}))
    old = store.load("old", Baseline)
    assert old is not None and old.spread == {}


# ----------------------------------------------------------------------------- daemon and CLI, real photos

CALIBRATION_ENV = {
    "DESKPULSE_POSTURE__CALIBRATE_S": "2",
    "DESKPULSE_POSTURE__BAD_AFTER_S": "1",
    "DESKPULSE_POSTURE__GOOD_AFTER_S": "0.5",
    "DESKPULSE_MQTT__KEEPALIVE": "5",
}


@pytest.fixture(scope="module")
def portraits(tmp_path_factory: pytest.TempPathFactory, photos: dict[str, Path]) -> dict[str, Path]:
    """The astronaut photo upright, and with everything above the shoulders moved 20 px down."""
    import cv2

    image = cv2.imread(str(photos["astronaut"]))
    lowered = image.copy()
    lowered[20:215] = image[0:195]
    lowered[:20] = image[0:1]
    path = tmp_path_factory.mktemp("dropped") / "astronaut_head_dropped.png"
    cv2.imwrite(str(path), lowered)
    return {"upright": photos["astronaut"], "dropped": path}


def _node(mosquitto: Mosquitto, source: Path, data: Path, node: str) -> tuple[str, ...]:
    return (
        "--source", str(source), "--loop", "--node-id", node, "--broker", mosquitto.url,
        "--data-dir", str(data),
    )  # fmt: skip


def _event(
    watcher: Watcher, node: str, kinds: tuple[str, ...], after: int, timeout: float = 60
) -> dict[str, object]:
    message = watcher.wait_for(
        f"deskpulse/{node}/event", lambda m: m.json()["event_type"] in kinds, timeout, after=after
    )
    body: dict[str, object] = message.json()
    return body


@pytest.mark.slow
def test_calibration_survives_a_restart_and_recalibration_replaces_it(
    tmp_path: Path, portraits: dict[str, Path], mosquitto: Mosquitto,
    daemon_factory: Callable[..., Daemon], watcher_factory: Callable[..., Watcher],
) -> None:  # fmt: skip
    import cv2

    from edge_node.vision.pose import PoseEstimator

    data = tmp_path / "data"
    daemon = daemon_factory(
        *_node(mosquitto, portraits["upright"], data, "calib"), env=CALIBRATION_ENV, name="a"
    )
    watcher = watcher_factory(mosquitto.port).wait_connected()
    watcher.wait_for("deskpulse/calib/state", lambda m: m.json()["posture"] == "good", timeout=90)
    assert not (data / "calibration.json").exists()

    mark = watcher.mark()
    watcher.publish("deskpulse/calib/calibrate/set", "PRESS")
    event = _event(watcher, "calib", ("calibrated", "calibration_failed"), mark)
    assert event["event_type"] == "calibrated", event
    stored = Baseline.model_validate_json((data / "calibration.json").read_text())
    assert stored.view == "front"
    assert stored.frames >= 5
    assert 0.5 < stored.measures["head_height_ratio"] < 0.75
    watcher.wait_for("deskpulse/calib/calibrate/state", lambda m: m.payload == b"calibrated", after=mark)
    watcher.wait_for("deskpulse/calib/state", lambda m: m.json()["calibrated"] is True, after=mark)

    # Restart the node on a photo with the head dropped, and the broker too, so nothing retained helps.
    daemon.stop()
    mosquitto.restart()
    daemon_factory(*_node(mosquitto, portraits["dropped"], data, "calib"), env=CALIBRATION_ENV, name="b")
    fresh = watcher_factory(mosquitto.port).wait_connected()
    state = fresh.wait_for("deskpulse/calib/state", lambda m: m.json()["posture"] == "bad", timeout=90).json()
    assert state["calibrated"] is True
    assert state["reason"] == "forward head"
    assert fresh.wait_for("deskpulse/calib/calibrate/state", timeout=10).payload == b"calibrated"
    # Uncalibrated, the same photo is within the range of upright people: the baseline made the difference.
    estimator = PoseEstimator(static_images=True)
    try:
        uncalibrated = classify(estimator.detect(cv2.imread(str(portraits["dropped"]))).pose)
    finally:
        estimator.close()
    assert "forward_head" not in uncalibrated.reasons

    # Recalibrating from the command line (it presses calibrate on the running node) replaces the baseline.
    mark = fresh.mark()
    result = subprocess.run(
        [sys.executable, "-m", "edge_node", "calibrate", "--broker", mosquitto.url, "--node-id", "calib"],
        capture_output=True, text=True, cwd=ROOT, env=_env(CALIBRATION_ENV), timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "calibrated" in result.stdout
    replaced = Baseline.model_validate_json((data / "calibration.json").read_text())
    assert replaced.created_at > stored.created_at
    assert replaced.measures["head_height_ratio"] < stored.measures["head_height_ratio"]
    fresh.wait_for("deskpulse/calib/state", lambda m: m.json()["posture"] == "good", after=mark, timeout=60)


@pytest.mark.slow
def test_calibration_with_nobody_in_view_is_refused_with_an_event(
    tmp_path: Path, photos: dict[str, Path], mosquitto: Mosquitto,
    daemon_factory: Callable[..., Daemon], watcher_factory: Callable[..., Watcher],
) -> None:  # fmt: skip
    data = tmp_path / "data"
    daemon_factory(*_node(mosquitto, photos["coffee"], data, "empty"), env=CALIBRATION_ENV)
    watcher = watcher_factory(mosquitto.port).wait_connected()
    watcher.wait_for("deskpulse/empty/calibrate/state", lambda m: m.payload == b"uncalibrated", timeout=90)
    watcher.wait_for("deskpulse/empty/camera", lambda m: m.json()["state"] == "connected", timeout=60)
    mark = watcher.mark()
    watcher.publish("deskpulse/empty/calibrate/set", "PRESS")
    event = _event(watcher, "empty", ("calibrated", "calibration_failed"), mark)
    assert event["event_type"] == "calibration_failed"
    assert "nobody in view" in str(event["message"])
    assert not (data / "calibration.json").exists()
    states = ("calibrating", "uncalibrated")
    watcher.wait_for("deskpulse/empty/calibrate/state", lambda m: m.payload == b"uncalibrated", after=mark)
    assert [m.payload.decode() for m in watcher.on("deskpulse/empty/calibrate/state")[-2:]] == list(states)


def _env(extra: dict[str, str]) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKPULSE_")}
    return {**env, **extra}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("photo", "code", "words"), [("astronaut", 0, "calibrated from"), ("coffee", 1, "nobody")]
)
def test_calibrate_command_with_the_camera_here(
    tmp_path: Path, photos: dict[str, Path], photo: str, code: int, words: str
) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "edge_node", "calibrate", "--local", "--source", str(photos[photo]),
            "--loop", "--data-dir", str(tmp_path / "data"),
        ],
        capture_output=True, text=True, cwd=ROOT, env=_env(CALIBRATION_ENV), timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == code, result.stdout + result.stderr
    assert words in result.stdout + result.stderr
    assert "How to sit while it records" in result.stdout  # it tells the person what to do first
    assert "shoulders relaxed and level" in result.stdout
    saved = tmp_path / "data" / "calibration.json"
    assert saved.exists() == (code == 0)
    if code == 0:
        assert Baseline.model_validate_json(saved.read_text()).view == "front"
