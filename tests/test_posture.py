"""Posture classification: literal landmark fixtures (front and side) and real MediaPipe on real photos."""

from __future__ import annotations

import ast
import inspect
import math
import re
from pathlib import Path

import pytest

from edge_node.posture import geometry as posture
from edge_node.posture.geometry import (
    NO_PERSON,
    REASON_ORDER,
    REASON_TEXT,
    Baseline,
    Reading,
    classify,
    face_growth_factor,
    head_drop_factor,
)
from edge_node.vision.landmarks import Landmark
from edge_node.vocabulary import Sensitivity
from tests.poses import (
    ASTRONAUT,
    HEAD,
    SIDE_STRAIGHT,
    Row,
    make_pose,
    mid,
    rotate,
    side_view,
    webcam_front,
    with_visibility,
)

# ----------------------------------------------------------------------------- views and measures


def test_no_pose_is_no_person() -> None:
    assert classify(None) == NO_PERSON
    assert not NO_PERSON.person


@pytest.mark.parametrize(
    ("rows", "size", "view"),
    [
        (ASTRONAUT, (512, 512), "front"),
        (webcam_front(), (1280, 720), "front"),
        (SIDE_STRAIGHT, (720, 1280), "side"),
        (side_view(neck_deg=15, torso_deg=-8), (640, 480), "side"),
        (side_view(neck_deg=15, torso_deg=-8, facing=-1), (640, 480), "side"),
    ],
)
def test_the_view_is_told_from_the_landmarks(
    rows: dict[Landmark, Row], size: tuple[int, int], view: str
) -> None:
    reading = classify(make_pose(rows, *size))
    assert reading.view == view
    assert reading.verdict == "good", reading


def test_one_hidden_shoulder_means_a_side_view() -> None:
    rows = with_visibility(side_view(neck_deg=15, torso_deg=0), (Landmark.RIGHT_SHOULDER,), 0.1)
    reading = classify(make_pose(rows))
    assert reading.view == "side"
    assert "body_yaw_deg" not in reading.measures


def test_measure_names_are_stable_snake_case_with_units() -> None:
    names: set[str] = set()
    for rows, size in ((ASTRONAUT, (512, 512)), (SIDE_STRAIGHT, (720, 1280)), (webcam_front(), (1280, 720))):
        names |= set(classify(make_pose(rows, *size)).measures)
    assert {"neck_deg", "torso_deg", "head_height_ratio", "face_width_ratio", "shoulder_tilt_deg"} <= names
    for name in names:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*_(deg|ratio)", name), name


def test_real_side_landmarks_measure_as_expected() -> None:
    measures = classify(make_pose(SIDE_STRAIGHT, 720, 1280)).measures
    assert measures["neck_deg"] == pytest.approx(14.4, abs=0.2)
    assert measures["torso_deg"] == pytest.approx(-9.5, abs=0.2)  # leaning back a little: negative


@pytest.mark.parametrize("facing", [1, -1])
@pytest.mark.parametrize(
    ("neck", "torso", "reasons"),
    [
        (15, -8, ()),
        (12, 5, ()),
        (38, 0, ("forward_head",)),
        (15, 30, ("slouch",)),
        (40, 35, ("forward_head", "slouch")),
        (0, -35, ("recline",)),
    ],
)
def test_side_view_verdicts_in_both_directions(
    facing: int, neck: float, torso: float, reasons: tuple[str, ...]
) -> None:
    reading = classify(make_pose(side_view(neck_deg=neck, torso_deg=torso, facing=facing)))
    assert reading.view == "side"
    assert reading.measures["neck_deg"] == pytest.approx(neck, abs=0.6)
    assert reading.measures["torso_deg"] == pytest.approx(torso, abs=0.6)
    assert reading.reasons == reasons
    assert reading.verdict == ("bad" if reasons else "good")


def test_real_side_landmarks_perturbed_into_bad_postures() -> None:
    shoulder = mid(SIDE_STRAIGHT, Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    hip = mid(SIDE_STRAIGHT, Landmark.LEFT_HIP, Landmark.RIGHT_HIP)
    upper = (*HEAD, Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    # He faces image left, so turning the head and trunk counter-clockwise moves them forward.
    forward_head = rotate(SIDE_STRAIGHT, HEAD, shoulder, -25)
    slouch = rotate(SIDE_STRAIGHT, upper, hip, -35)
    recline = rotate(SIDE_STRAIGHT, upper, hip, 25)
    assert classify(make_pose(forward_head, 720, 1280)).reasons == ("forward_head",)
    assert "slouch" in classify(make_pose(slouch, 720, 1280)).reasons
    assert classify(make_pose(recline, 720, 1280)).reasons == ("recline",)


def test_side_view_without_hips_judges_the_neck_only() -> None:
    good = classify(make_pose(side_view(neck_deg=15, torso_deg=40, hips=False)))
    assert "torso_deg" not in good.measures
    assert good.verdict == "good"
    bad = classify(make_pose(side_view(neck_deg=40, torso_deg=0, hips=False)))
    assert bad.reasons == ("forward_head",)


def test_front_view_of_an_upright_person_is_good() -> None:
    reading = classify(make_pose(webcam_front(), 1280, 720))
    assert reading.verdict == "good"
    assert reading.measures["head_height_ratio"] == pytest.approx(0.5, abs=0.01)
    assert reading.measures["face_width_ratio"] == pytest.approx(0.4, abs=0.01)
    assert reading.measures["shoulder_tilt_deg"] == pytest.approx(0.0, abs=0.1)
    assert "lean_deg" not in reading.measures  # hips are below the picture
    # Landmarks at 0.99 visibility, but only the top of the torso in view: trusted, not fully.
    assert 0.5 < reading.confidence < 0.99


@pytest.mark.parametrize(
    ("fixture", "reasons"),
    [
        (webcam_front(head_drop=0.2), ("forward_head",)),  # chin towards the chest
        (webcam_front(head_scale=1.45), ("forward_head",)),  # head pushed towards the screen
        (webcam_front(head_drop=0.1, head_scale=1.1), ()),  # a small nod is not a forward head
        (webcam_front(tilt_deg=14, torso=True), ("shoulder_tilt",)),
        (webcam_front(head_roll_deg=14, torso=True), ("head_tilt",)),
        (webcam_front(head_roll_deg=-14, torso=True), ("head_tilt",)),
        (
            webcam_front(head_roll_deg=-12, tilt_deg=12, torso=True),
            ("head_tilt", "shoulder_tilt"),
        ),  # level head
        # Head and shoulders only: the shoulder line is not judged without a calibration (it drifts).
        (webcam_front(tilt_deg=14), ()),
        (webcam_front(head_roll_deg=14), ()),
    ],
)
def test_front_view_bad_postures(fixture: dict[Landmark, Row], reasons: tuple[str, ...]) -> None:
    reading = classify(make_pose(fixture, 1280, 720))
    assert reading.view == "front"
    assert reading.reasons == reasons


def test_real_front_landmarks_perturbed_into_bad_postures() -> None:
    # Lower the astronaut's head by a third of her shoulder width: a slumped, forward head.
    span = ASTRONAUT[Landmark.LEFT_SHOULDER][0] - ASTRONAUT[Landmark.RIGHT_SHOULDER][0]
    dropped = {
        k: (x, y + span / 3, z, v) if k in HEAD else (x, y, z, v) for k, (x, y, z, v) in ASTRONAUT.items()
    }
    assert classify(make_pose(dropped, 512, 512)).reasons == ("forward_head",)
    # Square her shoulders to the camera (she is turned 26°, too far to judge head width), then
    # narrow them by a third (rolled forward) as the head comes nearer: the head looks wider.
    cx = mid(ASTRONAUT, Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)[0]
    square, narrowed = dict(ASTRONAUT), dict(ASTRONAUT)
    for side in (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER):
        x, y, _, v = ASTRONAUT[side]
        square[side] = (x, y, -0.26, v)
        narrowed[side] = (cx + (x - cx) * 0.67, y, -0.26, v)
    assert classify(make_pose(square, 512, 512)).verdict == "good"
    assert "forward_head" in classify(make_pose(narrowed, 512, 512)).reasons
    # Lean the whole upper body 15° sideways about the hips (made visible for this).
    hips = {Landmark.LEFT_HIP: (0.46, 0.95, 0.03, 0.9), Landmark.RIGHT_HIP: (0.26, 0.95, -0.03, 0.9)}
    seated = {**ASTRONAUT, **hips}
    assert classify(make_pose(seated, 512, 512)).verdict == "good"
    upper = (*HEAD, Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    leaning = rotate(seated, upper, mid(seated, Landmark.LEFT_HIP, Landmark.RIGHT_HIP), 15)
    assert classify(make_pose(leaning, 512, 512)).reasons == ("lean", "shoulder_tilt")


def test_shoulders_turned_from_the_camera_do_not_make_the_head_look_bigger() -> None:
    rows = webcam_front()
    cx = 0.89
    for side, dz in ((Landmark.LEFT_SHOULDER, 0.2), (Landmark.RIGHT_SHOULDER, -0.2)):
        x, y, _, v = rows[side]
        rows[side] = (cx + (x - cx) * 0.77, y, dz, v)  # turned ~40°: the span looks 23 % narrower
    reading = classify(make_pose(rows, 1280, 720))
    assert reading.view == "front"
    assert reading.measures["body_yaw_deg"] == pytest.approx(40.0, abs=1.0)
    assert "face_width_ratio" not in reading.measures
    assert reading.verdict == "good"


def test_a_head_turned_away_from_the_camera_does_not_count_as_a_bigger_head() -> None:
    rows = webcam_front(head_scale=1.45)
    nose = rows[Landmark.NOSE]
    rows[Landmark.NOSE] = (rows[Landmark.LEFT_EAR][0] + 0.02, *nose[1:])  # looking at a second screen
    reading = classify(make_pose(rows, 1280, 720))
    assert "face_width_ratio" not in reading.measures


# ----------------------------------------------------------------------------- not guessing


def test_hidden_shoulders_give_unknown_with_a_reason() -> None:
    rows = with_visibility(webcam_front(), (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER), 0.2)
    reading = classify(make_pose(rows, 1280, 720))
    assert reading.person and reading.verdict == "unknown"
    assert reading.reasons == ("no_shoulders",)
    assert reading.reason_text == "shoulders not in view"


def test_shoulders_outside_the_picture_are_not_used_even_when_mediapipe_is_sure() -> None:
    rows = webcam_front()
    for side in (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER):
        x, _, z, _ = rows[side]
        rows[side] = (x, 1.08, z, 0.99)  # a laptop camera cuts the shoulders off
    reading = classify(make_pose(rows, 1280, 720))
    assert reading.verdict == "unknown"
    assert reading.reasons == ("no_shoulders",)


def test_hidden_head_gives_unknown_not_a_guess() -> None:
    front = with_visibility(webcam_front(), HEAD, 0.3)
    assert classify(make_pose(front, 1280, 720)).reasons == ("no_head",)
    side = with_visibility(side_view(neck_deg=45, torso_deg=0), HEAD, 0.3)
    reading = classify(make_pose(side))
    assert reading.verdict == "unknown" and reading.reasons == ("no_head",)
    assert "neck_deg" not in reading.measures


def test_low_visibility_hips_are_ignored_not_guessed() -> None:
    rows = with_visibility(side_view(neck_deg=15, torso_deg=40), (Landmark.LEFT_HIP, Landmark.RIGHT_HIP), 0.3)
    reading = classify(make_pose(rows))
    assert "torso_deg" not in reading.measures
    assert reading.verdict == "good"


# ----------------------------------------------------------------------------- sensitivity


@pytest.mark.parametrize(
    ("sensitivity", "neck_limit", "slouch_limit", "recline_limit"),
    [("low", 35, 30, 30), ("medium", 25, 20, 25), ("high", 20, 15, 20)],
)
def test_side_limits_are_the_documented_ones(
    sensitivity: Sensitivity, neck_limit: float, slouch_limit: float, recline_limit: float
) -> None:
    def reasons(neck: float, torso: float) -> tuple[str, ...]:
        return classify(make_pose(side_view(neck_deg=neck, torso_deg=torso)), sensitivity=sensitivity).reasons

    assert reasons(neck_limit - 1, 0) == ()
    assert reasons(neck_limit + 1, 0) == ("forward_head",)
    assert reasons(10, slouch_limit - 1) == ()
    assert reasons(10, slouch_limit + 1) == ("slouch",)
    assert reasons(10, -recline_limit + 1) == ()
    assert reasons(10, -recline_limit - 1) == ("recline",)


@pytest.mark.parametrize(("sensitivity", "limit"), [("low", 15), ("medium", 10), ("high", 7)])
def test_lateral_limits_are_the_documented_ones(sensitivity: Sensitivity, limit: float) -> None:
    def reasons(tilt: float) -> tuple[str, ...]:
        pose = make_pose(webcam_front(tilt_deg=tilt, torso=True), 1280, 720)
        return classify(pose, sensitivity=sensitivity).reasons

    assert reasons(limit - 1) == ()
    assert reasons(limit + 1) == ("shoulder_tilt",)
    assert reasons(-limit - 1) == ("shoulder_tilt",)


def test_front_limits_follow_the_neck_limits() -> None:
    # The model: a head pivoting at the neck base, 20 cm to the nose, a camera 60 cm away.
    assert head_drop_factor(25) == pytest.approx(math.cos(math.radians(25)) / math.cos(math.radians(15)))
    assert head_drop_factor(15) == pytest.approx(1.0)
    assert face_growth_factor(15) == pytest.approx(1.0)
    assert 1.04 < face_growth_factor(25) < 1.08


def test_higher_sensitivity_never_finds_fewer_problems() -> None:
    order: list[Sensitivity] = ["low", "medium", "high"]
    for neck in range(-10, 60, 3):
        for torso in range(-45, 50, 4):
            pose = make_pose(side_view(neck_deg=neck, torso_deg=torso))
            found = [set(classify(pose, sensitivity=s).reasons) for s in order]
            assert found[0] <= found[1] <= found[2], (neck, torso, found)
    for drop in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3):
        for scale in (1.0, 1.1, 1.2, 1.3, 1.5):
            pose = make_pose(webcam_front(head_drop=drop, head_scale=scale), 1280, 720)
            found = [set(classify(pose, sensitivity=s).reasons) for s in order]
            assert found[0] <= found[1] <= found[2], (drop, scale, found)


# ----------------------------------------------------------------------------- calibration baseline


def test_a_side_baseline_shifts_the_limits_to_the_user() -> None:
    # A camera looking down from a shelf reads this user's good neck as 28°.
    baseline = Baseline(view="side", measures={"neck_deg": 28.0, "torso_deg": -5.0})
    same = make_pose(side_view(neck_deg=30, torso_deg=-5))
    assert classify(same).reasons == ("forward_head",)  # uncalibrated: over 25°
    assert classify(same, baseline=baseline).verdict == "good"
    worse = make_pose(side_view(neck_deg=40, torso_deg=-5))
    assert classify(worse, baseline=baseline).reasons == ("forward_head",)  # 12° past the baseline
    slouched = make_pose(side_view(neck_deg=28, torso_deg=17))
    assert classify(slouched, baseline=baseline).reasons == ("slouch",)  # 22° forward of the baseline


def test_a_front_baseline_makes_small_forward_head_visible() -> None:
    baseline = Baseline(view="front", measures={"head_height_ratio": 0.5, "face_width_ratio": 0.4})
    slight = make_pose(webcam_front(head_drop=0.05, head_scale=1.08), 1280, 720)
    assert classify(slight).verdict == "good"  # uncalibrated: within the range of upright people
    assert classify(slight, baseline=baseline).reasons == ("forward_head",)
    assert classify(make_pose(webcam_front(), 1280, 720), baseline=baseline).verdict == "good"


def test_a_baseline_from_the_other_view_is_not_applied() -> None:
    baseline = Baseline(view="front", measures={"head_height_ratio": 0.9})
    pose = make_pose(side_view(neck_deg=15, torso_deg=0))
    assert classify(pose, baseline=baseline) == classify(pose)


def test_a_baseline_tilt_becomes_the_new_centre() -> None:
    baseline = Baseline(view="front", measures={"shoulder_tilt_deg": 6.0, "head_height_ratio": 0.5})
    tilted_camera = make_pose(webcam_front(tilt_deg=14, torso=True), 1280, 720)
    assert classify(tilted_camera).reasons == ("shoulder_tilt",)
    assert classify(tilted_camera, baseline=baseline).verdict == "good"


# ----------------------------------------------------------------------------- reasons and purity


def test_reasons_have_words_and_a_fixed_order() -> None:
    reading = Reading(person=True, verdict="bad", reasons=("forward_head", "slouch"))
    assert reading.reason_text == "forward head, slouching"
    assert set(REASON_ORDER) == set(REASON_TEXT)
    assert posture.ordered_reasons(["slouch", "forward_head", "slouch"]) == ("forward_head", "slouch")


def test_posture_math_is_pure() -> None:
    tree = ast.parse(inspect.getsource(posture))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    assert not imported & {"cv2", "mediapipe", "paho", "logging", "numpy"}


# ----------------------------------------------------------------------------- real photos, real MediaPipe


@pytest.fixture(scope="module")
def estimator():  # type: ignore[no-untyped-def]
    from edge_node.vision.pose import PoseEstimator

    pose_estimator = PoseEstimator(static_images=True)
    yield pose_estimator
    pose_estimator.close()


def _read(path: Path):  # type: ignore[no-untyped-def]
    import cv2

    image = cv2.imread(str(path))
    assert image is not None, path
    return image


def test_real_front_portrait_is_a_good_front_view(photos: dict[str, Path], estimator) -> None:  # type: ignore[no-untyped-def]
    reading = classify(estimator.detect(_read(photos["astronaut"])).pose)
    assert reading.person
    assert reading.view == "front"
    assert reading.verdict == "good", reading


@pytest.mark.parametrize("name", ["coffee", "rocket"])
def test_real_scenes_without_people_have_no_person(photos: dict[str, Path], estimator, name: str) -> None:  # type: ignore[no-untyped-def]
    assert classify(estimator.detect(_read(photos[name])).pose) == NO_PERSON


def test_shared_posture_photos_meet_the_acceptance_bar(shared_posture: Path, estimator) -> None:  # type: ignore[no-untyped-def]
    """≥ 90 % right where MediaPipe finds a person (uncalibrated), and nobody on any empty photo."""
    right, judged, lines = 0, 0, []
    for label in ("good", "bad", "empty"):
        for path in sorted((shared_posture / "images" / label).iterdir()):
            reading = classify(estimator.detect(_read(path)).pose)
            lines.append(
                f"{path.name} {label} {reading.verdict if reading.person else 'away'} {reading.reasons}"
            )
            if label == "empty":
                assert not reading.person, path.name
            elif reading.person:
                judged += 1
                right += reading.verdict == label
    assert judged >= 10, lines
    assert right / judged >= 0.9, "\n".join(lines)
