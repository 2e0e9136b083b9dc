"""Adaptive inference: the scene-change gate and the pace, pure, with a scripted clock and scripted scenes."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_node.cli.clip import cover, webcam_noise
from edge_node.node.pace import BURST_S, Pace, PaceConfig
from edge_node.vision.motion import Region, change, region_of, thumbnail
from tests.poses import make_pose, side_view

FPS = 10.0
STEP = 1 / FPS
THRESHOLD = PaceConfig().change_threshold


def run(pace: Pace, seconds: float, *, start: float, change_at: float | None = None, present: bool = True,
        steady: bool = True, cost_s: float = 0.02) -> list[float]:  # fmt: skip
    """Frames at 10 fps for `seconds`; the scene changes once at `change_at`. Returns when the model ran."""
    ran = []
    for i in range(round(seconds * FPS)):
        now = start + i * STEP
        score = 40.0 if change_at is not None and abs(now - change_at) < STEP / 2 else 0.5
        decision = pace.decide(now, change=score, steady=steady, present=present)
        if decision.infer:
            pace.inferred(now, cost_s)
            ran.append(now)
    return ran


def test_a_still_scene_runs_the_model_at_the_refresh_rate_and_the_gate_at_its_own() -> None:
    pace = Pace(PaceConfig())
    ran = run(pace, 20.0, start=0.0)
    assert ran[:3] == pytest.approx([0.0, 0.1, 0.2])  # active at first: every frame
    settled = [t for t in ran if t >= 5.0]
    gaps = np.diff(settled)
    assert gaps.min() == pytest.approx(1.0, abs=STEP)  # then once a second (refresh_s)
    assert pace.mode == "still"
    assert pace.capture_fps() == 2.0  # the camera hands over only what the gate needs


def test_a_change_brings_the_full_rate_back_within_one_frame() -> None:
    pace = Pace(PaceConfig())
    run(pace, 10.0, start=0.0)
    assert pace.mode == "still"
    ran = run(pace, 5.0, start=10.0, change_at=12.0)
    after = [t for t in ran if t >= 12.0]
    assert after[0] == pytest.approx(12.0)  # the changed frame itself is judged
    assert after[1:5] == pytest.approx([12.1, 12.2, 12.3, 12.4])  # and every frame after it
    assert pace.capture_fps() == 10.0


def test_a_posture_between_two_states_keeps_the_model_at_full_rate() -> None:
    pace = Pace(PaceConfig())
    run(pace, 10.0, start=0.0)
    ran = run(pace, 2.0, start=10.0, steady=False)
    assert len(ran) == 20


def test_an_empty_desk_looks_rarely_and_an_arrival_at_once() -> None:
    pace = Pace(PaceConfig())
    ran = run(pace, 30.0, start=0.0, present=False)
    late = [t for t in ran if t >= 10.0]
    assert np.diff(late).min() == pytest.approx(4.0, abs=STEP)  # refresh_empty_s: a fresh detection
    assert pace.mode == "empty"
    arrival = run(pace, 3.0, start=30.0, present=False, change_at=31.0)
    assert any(abs(t - 31.0) < 1e-6 for t in arrival)  # someone sat down: seen at once, not in 4 s
    assert pace.mode == "active"


def test_the_cpu_budget_caps_the_models_rate_after_a_burst_from_the_bucket() -> None:
    """A Pi 5's 165 ms a frame and a budget of a quarter core: a burst, then 1.5 inferences a second."""
    pace = Pace(PaceConfig(cpu_budget=0.25))
    ran = run(pace, 120.0, start=0.0, steady=False, cost_s=0.165)
    burst = [t for t in ran if t < 1.0]
    assert len(burst) == 10  # the full bucket (2.5 CPU-s) pays for the first second at full rate
    sustained = [t for t in ran if t >= 30.0]
    rate = (len(sustained) - 1) / (sustained[-1] - sustained[0])
    assert 1.3 <= rate <= 1.52
    spent = len(ran) * 0.165
    assert spent <= 0.25 * 120.0 + 0.25 * BURST_S + 0.165  # the budget, plus one bucketful at most
    assert pace.capture_fps() == pytest.approx(0.25 / 0.165, rel=0.01)  # frames it cannot take: not decoded
    pace.set_budget(1.0)
    assert pace.min_interval_s == pytest.approx(0.165, rel=0.01)


def test_a_change_after_a_still_spell_runs_at_full_rate_under_a_tight_budget() -> None:
    """What the still scene left unspent pays for the readings a new verdict needs."""
    pace = Pace(PaceConfig(cpu_budget=0.25))
    run(pace, 60.0, start=0.0, cost_s=0.165)  # still: once a second, well under the budget
    assert pace.mode == "still"
    run(pace, 1.0, start=60.0, change_at=60.9, cost_s=0.165)
    assert pace.capture_fps() == 10.0  # the camera hands over every frame for the burst
    ran = run(pace, 2.0, start=61.0, steady=False, cost_s=0.165)
    assert ran[:8] == pytest.approx([61.0 + i * STEP for i in range(8)])  # every frame, as unlimited


def test_the_fixed_rate_loop_runs_every_frame() -> None:
    pace = Pace(PaceConfig(adaptive=False, cpu_budget=8.0))
    assert len(run(pace, 5.0, start=0.0)) == 50
    assert pace.mode == "fixed"
    assert pace.capture_fps() == 10.0


# ----------------------------------------------------------------------------- the gate on real frames


@pytest.fixture(scope="module")
def scenes(photos: dict[str, Path]) -> dict[str, np.ndarray]:
    astronaut = cover(cv2.imread(str(photos["astronaut"])), (640, 480))
    height, width = astronaut.shape[:2]
    lean = cv2.warpAffine(
        astronaut, cv2.getRotationMatrix2D((width / 2, height / 2), -20, 1.0), (width, height),
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    return {
        "person": astronaut,
        "leaning": lean,
        "empty": cover(cv2.imread(str(photos["coffee"])), (640, 480)),
    }


def test_webcam_noise_and_flicker_are_still_and_a_change_is_not(scenes: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(5)
    person = scenes["person"]
    reference = thumbnail(webcam_noise(person, rng))
    still = [change(reference, thumbnail(webcam_noise(person, rng))) for _ in range(100)]
    brighter = np.clip(person.astype(int) + 15, 0, 255).astype(np.uint8)  # a lamp, auto-exposure
    assert max(still) < THRESHOLD, max(still)
    assert change(reference, thumbnail(webcam_noise(brighter, rng))) < THRESHOLD
    assert change(reference, thumbnail(webcam_noise(scenes["leaning"], rng))) > 2 * THRESHOLD
    assert change(thumbnail(scenes["empty"]), thumbnail(person)) > 2 * THRESHOLD  # someone sat down
    assert change(reference, thumbnail(person[:240])) == float("inf")  # a new picture size


def test_the_gate_watches_the_person_not_the_rest(scenes: dict[str, np.ndarray]) -> None:
    pose = make_pose(side_view(neck_deg=15, torso_deg=0))
    region = region_of(pose)
    assert 0 < region.left < region.right < 1 and 0 <= region.top < region.bottom <= 1
    assert region_of(None) == Region.everything()
    person = scenes["person"].copy()
    moved = person.copy()
    moved[:, :80] = 255 - moved[:, :80]  # something changes at the far left, outside the person
    watched = Region(0.3, 0.0, 1.0, 1.0)
    assert (
        change(thumbnail(person), thumbnail(moved), watched)
        < THRESHOLD
        < change(thumbnail(person), thumbnail(moved))
    )


def test_typing_hands_below_the_shoulders_do_not_wake_the_model(shared_posture: Path) -> None:
    """The shared clip of someone typing at a laptop: consecutive frames stay under the threshold."""
    capture = cv2.VideoCapture(str(shared_posture / "video" / "mps_over_shoulder_laptop.mp4"))
    thumbs = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        thumbs.append(thumbnail(frame))
    capture.release()
    assert len(thumbs) > 50
    scores = [change(a, b) for a, b in itertools.pairwise(thumbs)]
    assert max(scores) < THRESHOLD, max(scores)
