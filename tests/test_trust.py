"""Trust: a skeleton no body can have, a turned, cut-off or too dark picture is `unknown`, never `bad`.

Pure tests on landmark fixtures (each impossible configuration, random skeletons) and real MediaPipe on
real photos turned, darkened and cut with OpenCV in the test.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_node.posture.confidence import too_dark
from edge_node.posture.geometry import ROTATION_FIT, Reading, classify
from edge_node.vision.frames import turn
from edge_node.vision.landmarks import NUM_LANDMARKS, Image, Landmark, PictureStats, Point, Pose
from edge_node.vision.pose import PoseEstimator
from tests.poses import make_pose, side_view, webcam_front

WIDE = (1280, 720)
TURNS = (90, 180, 270)
# cv2.rotate codes that turn a picture clockwise by the key.
CV2_TURN = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def moved(rows: dict[Landmark, tuple[float, float, float, float]], which: tuple[Landmark, ...], dy: float):
    return {k: (v[0], v[1] + dy, v[2], v[3]) if k in which else v for k, v in rows.items()}


SHOULDERS = (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
HIPS = (Landmark.LEFT_HIP, Landmark.RIGHT_HIP)
HEAD = (
    Landmark.NOSE, Landmark.LEFT_EYE, Landmark.RIGHT_EYE, Landmark.LEFT_EAR, Landmark.RIGHT_EAR,
    Landmark.MOUTH_LEFT, Landmark.MOUTH_RIGHT,
)  # fmt: skip


# ----------------------------------------------------------------------------- impossible skeletons


def test_shoulders_above_the_nose_are_not_plausible() -> None:
    rows = moved(webcam_front(), SHOULDERS, -0.45)  # the laptop-webcam failure: shoulders over the face
    reading = classify(make_pose(rows, *WIDE))
    assert reading.verdict == "unknown"
    assert reading.reasons[0] == "implausible"
    assert "head_below_shoulders" in reading.reasons
    assert reading.reason_text is not None and reading.reason_text.startswith("pose not plausible")


def test_hips_above_the_shoulders_are_not_plausible() -> None:
    rows = side_view(neck_deg=15, torso_deg=0)
    rows = moved(rows, HIPS, -0.5)  # hips 0.27 picture heights above the shoulders
    reading = classify(make_pose(rows))
    assert (reading.verdict, reading.reasons[0]) == ("unknown", "implausible")
    assert "hips_above_shoulders" in reading.reasons


def test_a_head_inside_the_torso_is_not_plausible() -> None:
    rows = moved(webcam_front(), HEAD, 0.36)  # the face drawn below the shoulder line
    reading = classify(make_pose(rows, *WIDE))
    assert (reading.verdict, reading.reasons[0]) == ("unknown", "implausible")
    assert "head_below_shoulders" in reading.reasons


def test_zero_shoulder_span_is_not_plausible() -> None:
    rows = webcam_front()
    centre = rows[Landmark.LEFT_SHOULDER][0] - 0.3
    for shoulder in SHOULDERS:
        rows[shoulder] = (centre, rows[shoulder][1], 0.0, 0.99)
    reading = classify(make_pose(rows, *WIDE))
    assert (reading.verdict, reading.reasons[0]) == ("unknown", "implausible")


def test_landmarks_in_the_edge_band_are_cut_not_measured() -> None:
    """Shoulders the picture cuts (laptop webcam): tilted 20°, yet no verdict, and never bad."""
    rows = moved(webcam_front(tilt_deg=20), (*SHOULDERS, *HEAD), 0.30)  # shoulder line 0.08 above the edge
    reading = classify(make_pose(rows, *WIDE))
    assert reading.verdict == "unknown"
    assert reading.reasons == ("shoulders_cut",)
    assert "move back" in (reading.reason_text or "")
    # The same body higher in the picture, the torso in view: the tilt is measured and judged.
    assert classify(make_pose(webcam_front(tilt_deg=20, torso=True), *WIDE)).reasons == ("shoulder_tilt",)


def test_an_upside_down_face_says_which_rotation_fits() -> None:
    rows = webcam_front()
    flipped = {k: (v[0], 1.0 - v[1], v[2], v[3]) for k, v in rows.items()}  # turned 180° about the x axis
    reading = classify(make_pose(flipped, *WIDE))
    assert (reading.verdict, reading.reasons) == ("unknown", ("rotated",))
    assert reading.measures[ROTATION_FIT] == 180
    assert reading.reason_text == "picture turned: set camera.rotation to 180"


def test_random_skeletons_are_never_bad() -> None:
    """20,000 skeletons of random points (and random visibility) in a picture: none is called bad."""
    rng = random.Random(20261201)
    bad: list[Reading] = []
    for _ in range(20_000):
        width, height = rng.choice([(640, 480), (1280, 720), (720, 1280), (512, 512)])
        aspect = width / height
        points = tuple(
            Point(rng.uniform(0, aspect), rng.uniform(0, 1), rng.uniform(-1, 1), rng.uniform(0.3, 1.0))
            for _ in range(NUM_LANDMARKS)
        )
        reading = classify(Pose(points, width, height))
        if reading.verdict == "bad":
            bad.append(reading)
    assert bad == [], f"{len(bad)} random skeletons judged bad, e.g. {bad[:2]}"


def test_a_picture_too_dark_to_judge_is_unknown_whatever_the_landmarks() -> None:
    slumped = make_pose(side_view(neck_deg=45, torso_deg=35))
    assert classify(slumped).verdict == "bad"
    dark = PictureStats(brightness=5.0, contrast=2.5)
    assert too_dark(dark)
    reading = classify(slumped, picture=dark)
    assert (reading.verdict, reading.reason_text) == ("unknown", "too dark to judge")
    dim = PictureStats(brightness=16.0, contrast=7.0)  # an eighth of a normal exposure
    assert classify(slumped, picture=dim).verdict == "bad"


# ----------------------------------------------------------------------------- real photos


@pytest.fixture(scope="module")
def estimator() -> PoseEstimator:
    return PoseEstimator(static_images=True)


def judged(estimator: PoseEstimator, image: Image, rotation: int = 0) -> Reading:
    detection = estimator.detect(image)
    return classify(detection.pose, picture=detection.picture, rotation=rotation)


def real_photos(photos: dict[str, Path], shared: Path | None) -> dict[str, tuple[str, Image]]:
    """name -> (label, picture): the astronaut always, the shared posture photos when present."""
    out: dict[str, tuple[str, Image]] = {"astronaut": ("good", cv2.imread(str(photos["astronaut"])))}
    if shared is not None:
        for label in ("good", "bad"):
            for path in sorted((shared / "images" / label).iterdir()):
                image = cv2.imread(str(path))
                if image is not None and not path.name.startswith("kasinath_"):
                    out[f"{label}/{path.name}"] = (label, image)
    return out


@pytest.fixture(scope="module")
def people(photos: dict[str, Path]) -> dict[str, tuple[str, Image]]:
    from tests.support import SHARED_POSTURE

    shared = SHARED_POSTURE if (SHARED_POSTURE / "images").is_dir() else None
    return real_photos(photos, shared)


def test_turned_photos_are_never_bad_and_the_right_rotation_is_named(
    estimator: PoseEstimator, people: dict[str, tuple[str, Image]]
) -> None:
    named = 0
    for name, (_label, image) in people.items():
        for degrees in TURNS:
            reading = judged(estimator, cv2.rotate(image, CV2_TURN[degrees]))
            assert reading.verdict != "bad", (name, degrees, reading)
            if reading.reasons == ("rotated",):
                # Turning it back by the named rotation makes it upright: 360 - degrees.
                assert reading.measures[ROTATION_FIT] == (360 - degrees) % 360, (name, degrees)
                named += 1
    assert named >= 0.9 * 3 * len(people)


def test_with_camera_rotation_set_a_turned_photo_gets_its_verdict(
    estimator: PoseEstimator, people: dict[str, tuple[str, Image]]
) -> None:
    for name, (label, image) in people.items():
        upright = judged(estimator, image)
        for degrees in TURNS:
            fix = (360 - degrees) % 360
            reading = judged(estimator, turn(cv2.rotate(image, CV2_TURN[degrees]), fix), rotation=fix)
            assert reading.verdict == upright.verdict == label, (name, degrees, reading)


@pytest.mark.parametrize("divisor", [8, 16, 32])
def test_dark_copies_are_unknown_or_right_never_a_wrong_bad(
    estimator: PoseEstimator, people: dict[str, tuple[str, Image]], divisor: int
) -> None:
    for name, (label, image) in people.items():
        reading = judged(estimator, (image // divisor).astype(np.uint8))
        verdict = reading.verdict if reading.person else "away"
        assert verdict in ("unknown", "away", label), (name, divisor, reading)
        assert not (verdict == "bad" and label != "bad"), (name, divisor)


def test_a_laptop_framing_that_cuts_the_shoulders_is_never_bad(
    estimator: PoseEstimator, people: dict[str, tuple[str, Image]]
) -> None:
    """Each frontal photo cut ever closer below the chin, as a laptop webcam frames a face."""
    front = {n: v for n, v in people.items() if judged(estimator, v[1]).view == "front"}
    assert front, "no frontal photo"
    for name, (label, image) in front.items():
        detection = estimator.detect(image)
        assert detection.pose is not None
        nose_y = detection.pose[Landmark.NOSE].y
        shoulder_y = (
            detection.pose[Landmark.LEFT_SHOULDER].y + detection.pose[Landmark.RIGHT_SHOULDER].y
        ) / 2
        height = image.shape[0]
        for below in (0.6, 0.4, 0.2, 0.1, 0.0):
            cut = round(height * (shoulder_y + below * (shoulder_y - nose_y)))
            reading = judged(estimator, image[: max(cut, 2)])
            assert reading.verdict in ("unknown", label) or not reading.person, (name, below, reading)


def test_the_engine_confidence_factors_are_in_the_reading(
    estimator: PoseEstimator, photos: dict[str, Path]
) -> None:
    image = cv2.imread(str(photos["astronaut"]))
    bright = judged(estimator, image)
    dim = judged(estimator, (image // 8).astype(np.uint8))
    assert 0 < dim.confidence < bright.confidence <= 1
    assert math.isfinite(bright.confidence)


def test_a_bad_frame_among_good_ones_is_doubted_and_a_lasting_one_is_not() -> None:
    from edge_node.posture.confidence import temper

    good = Reading(person=True, verdict="good", view="side", confidence=0.95)
    bad = Reading(person=True, verdict="bad", reasons=("slouch",), view="side", confidence=0.95)
    assert temper(bad, []).verdict == "unknown"  # a first frame alone is no evidence of a slouch
    assert temper(bad, [good] * 5).reasons == ("low_confidence",)
    assert temper(bad, [good, good, bad, bad, bad]).verdict == "bad"
    assert temper(good, [bad] * 5).verdict == "good"  # good needs less: the asymmetry is deliberate
