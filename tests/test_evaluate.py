"""`deskpulse-edge evaluate DIR` as a real process, on photos we make and on the shared posture photos."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def run_evaluate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge_node", "evaluate", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )


def parse(stdout: str) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Per-file lines by file name (split into columns) and the final JSON object."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    summary = json.loads(lines[-1])
    rows = {}
    for line in lines[:-1]:
        columns = re.split(r"\s{2,}", line.strip(), maxsplit=4)
        rows[columns[0]] = columns
    return rows, summary


@pytest.fixture(scope="module")
def made_dir(tmp_path_factory: pytest.TempPathFactory, photos: dict[str, Path]) -> Path:
    """good/ (the astronaut), bad/ (the same photo leaning 20° sideways), empty/ (two scenes), a video."""
    import cv2

    root = tmp_path_factory.mktemp("evaluate")
    for label in ("good", "bad", "empty", "video"):
        (root / label).mkdir()
    astronaut = cv2.imread(str(photos["astronaut"]))
    coffee = cv2.imread(str(photos["coffee"]))
    cv2.imwrite(str(root / "good" / "astronaut.png"), astronaut)
    height, width = astronaut.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), -20, 1.0)
    leaning = cv2.warpAffine(astronaut, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    cv2.imwrite(str(root / "bad" / "astronaut_leaning.png"), leaning)
    cv2.imwrite(str(root / "empty" / "coffee.png"), coffee)
    cv2.imwrite(str(root / "empty" / "rocket.png"), cv2.imread(str(photos["rocket"])))
    (root / "empty" / "notes.txt").write_text("not an image: ignored\n")
    # A clip: 8 frames of an empty scene, then 10 of the astronaut, labelled per frame.
    clip = root / "video" / "desk.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (512, 512))
    scene = cv2.resize(coffee, (512, 512))
    for _ in range(8):
        writer.write(scene)
    for _ in range(10):
        writer.write(astronaut)
    writer.release()
    rows = ["frame,label", *(f"{i},empty" for i in range(8)), *(f"{i},good" for i in range(8, 18))]
    (root / "video" / "desk.csv").write_text("\n".join(rows) + "\n")
    # A clip without labels is reported and skipped, not guessed.
    unlabelled = root / "video" / "unlabelled.avi"
    writer = cv2.VideoWriter(str(unlabelled), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (512, 512))
    writer.write(scene)
    writer.release()
    return root


def test_evaluate_prints_a_line_per_file_and_a_json_summary(made_dir: Path) -> None:
    result = run_evaluate(str(made_dir))
    assert result.returncode == 0, result.stderr
    rows, summary = parse(result.stdout)
    assert set(rows) == {
        "good/astronaut.png", "bad/astronaut_leaning.png", "empty/coffee.png", "empty/rocket.png",
        "video/desk.avi",
    }  # fmt: skip
    assert rows["good/astronaut.png"][1:3] == ["good", "good"]
    assert "view=front" in rows["good/astronaut.png"][4]
    _, expected, verdict, reason, measures = rows["bad/astronaut_leaning.png"]
    assert (expected, verdict) == ("bad", "bad")
    assert "leaning sideways" in reason
    assert "lean_deg=" in measures
    assert rows["empty/coffee.png"][1:3] == ["empty", "away"]
    assert "unlabelled.avi" in result.stderr and "skipped" in result.stderr
    assert "frames=18 labelled=18" in rows["video/desk.avi"][4]

    assert list(summary) == [
        "n", "detected", "accuracy", "accuracy_detected", "false_present", "false_bad", "missed_bad",
        "unknown", "views", "confusion", "video",
    ]  # fmt: skip
    assert summary["false_bad"] == confusion_count(summary, "good", "bad") + confusion_count(
        summary, "empty", "bad"
    )
    assert summary["missed_bad"] == confusion_count(summary, "bad", "good") + confusion_count(
        summary, "bad", "unknown"
    )
    assert summary["unknown"] == sum(
        summary["confusion"][label]["unknown"] for label in ("good", "bad", "empty")
    )
    assert summary["views"]["front"]["n"] >= 2  # the photos and the clip's frames of the astronaut
    video = summary["video"]
    assert (video["clips"], video["frames"], video["label_changes"]) == (1, 18, 1)
    assert summary["n"] == 4 + 18
    confusion = summary["confusion"]
    assert sum(confusion["good"].values()) == 1 + 10
    assert sum(confusion["bad"].values()) == 1
    assert sum(confusion["empty"].values()) == 2 + 8
    assert confusion["empty"]["away"] == 10
    assert summary["false_present"] == 0
    assert confusion["bad"]["bad"] == 1
    assert confusion["good"]["good"] >= 9  # the clip's first astronaut frame may still be acquiring
    assert (
        summary["detected"]
        == confusion["good"]["good"]
        + confusion["good"]["bad"]
        + confusion["good"]["unknown"]
        + confusion["bad"]["good"]
        + confusion["bad"]["bad"]
        + confusion["bad"]["unknown"]
    )
    right = confusion["good"]["good"] + confusion["bad"]["bad"] + confusion["empty"]["away"]
    assert summary["accuracy"] == pytest.approx(right / summary["n"], abs=1e-4)


def confusion_count(summary: dict[str, Any], label: str, verdict: str) -> int:
    return int(summary["confusion"][label][verdict])


def test_video_mode_reports_time_to_bad_flips_and_ignores_a_single_turned_frame(
    tmp_path: Path, photos: dict[str, Path]
) -> None:
    """A clip played as the node plays a camera: good, then one frame turned upside down, then leaning."""
    import cv2

    from edge_node.cli.clip import Segment, write_clip

    astronaut = cv2.imread(str(photos["astronaut"]))
    height, width = astronaut.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), -20, 1.0)
    leaning = cv2.warpAffine(astronaut, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    upside_down = cv2.rotate(astronaut, cv2.ROTATE_180)
    (tmp_path / "video").mkdir()
    write_clip(
        tmp_path / "video" / "desk.avi",
        [
            Segment(astronaut, 6.0, "good"),
            Segment(upside_down, 0.1, "good"),  # a single implausible frame
            Segment(astronaut, 3.0, "good"),
            Segment(leaning, 8.0, "bad"),
        ],
        fps=10.0,
    )
    result = run_evaluate(str(tmp_path))
    assert result.returncode == 0, result.stderr
    rows, summary = parse(result.stdout)
    video = summary["video"]
    assert video["frames"] == 171
    assert video["label_changes"] == 1  # the turned frame is still labelled good
    assert video["flips"] == 1  # good → bad; the turned frame changed nothing
    assert video["time_to_bad_s"]["n"] == 1
    assert video["time_to_bad_s"]["max"] <= 3.0 + 1.0  # the hold time, plus at most a second
    assert summary["false_bad"] == 0
    assert "flips=1" in rows["video/desk.avi"][4]


def test_evaluate_uses_a_calibration_baseline(made_dir: Path, tmp_path: Path) -> None:
    # A user whose good posture holds the head far higher above the shoulders than the astronaut's.
    baseline = tmp_path / "calibration.json"
    baseline.write_text(json.dumps({"view": "front", "measures": {"head_height_ratio": 0.9}, "frames": 50}))
    result = run_evaluate(str(made_dir / "good"), "--baseline", str(baseline))
    # good/ itself holds no label folders: the command says so instead of guessing.
    assert result.returncode == 2
    assert "no images" in result.stderr
    result = run_evaluate(str(made_dir), "--baseline", str(baseline))
    assert result.returncode == 0, result.stderr
    rows, _ = parse(result.stdout)
    assert rows["good/astronaut.png"][2] == "bad"
    assert rows["good/astronaut.png"][3] == "forward head"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "is not a folder"),
        ("no_labels", "has no images"),
        ("bad_csv", "needs columns frame,label"),
        ("bad_baseline", "is not a calibration file"),
    ],
)
def test_bad_input_gets_a_clear_message(tmp_path: Path, setup: str, message: str) -> None:
    args = [str(tmp_path / "data")]
    if setup != "missing":
        (tmp_path / "data").mkdir()
    if setup == "bad_csv":
        (tmp_path / "data" / "clip.mp4").write_bytes(b"")
        (tmp_path / "data" / "clip.csv").write_text("index,what\nzero,good\n")
    if setup == "bad_baseline":
        (tmp_path / "data" / "good").mkdir()
        (tmp_path / "data" / "good" / "x.png").write_bytes(b"")
        (tmp_path / "calibration.json").write_text('{"view": "sideways"}')
        args += ["--baseline", str(tmp_path / "calibration.json")]
    result = run_evaluate(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_shared_posture_photos_meet_the_acceptance_bar(shared_posture: Path) -> None:
    result = run_evaluate(str(shared_posture))
    assert result.returncode == 0, result.stderr
    rows, summary = parse(result.stdout)
    images = [p for p in (shared_posture / "images").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]
    assert len(rows) == len(images)
    assert summary["n"] == len(images)
    assert summary["detected"] >= 10
    assert summary["accuracy_detected"] >= 0.9, result.stdout
    assert summary["false_present"] == 0, result.stdout
    empties = [r for name, r in rows.items() if name.startswith("images/empty/")]
    assert empties and all(r[2] == "away" for r in empties)
