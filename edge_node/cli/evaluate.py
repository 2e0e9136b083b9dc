"""Evaluate: classify labelled photos and videos (DIR/good, bad, empty) and print accuracy as JSON.

DIR holds `good/`, `bad/` and `empty/` folders (directly, or one level down such as `images/good/`).
Every image in them is one sample with its folder's label; a video in them labels all its frames. A
video anywhere under DIR with a `<video stem>.csv` beside it (columns `frame,label`, frames counted
from 0, labels good/bad/empty; other labels skip the frame) is labelled per frame.

One line per file: file, expected, verdict, reason, measures, in columns at least two spaces apart
(split on two or more spaces). The last line is one JSON object:
`n` samples, `detected` (person samples where MediaPipe found the person), `accuracy` (all samples;
an empty scene is right when nobody is reported), `accuracy_detected` (good/bad samples with a person
found), `false_present` (empty samples where a person was reported) and the `confusion` counts.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from edge_node.config import PostureConfig
from edge_node.errors import EdgeNodeError
from edge_node.node.engine import steady_config
from edge_node.posture.confidence import RECENT_FRAMES, temper
from edge_node.posture.geometry import Baseline, Reading, classify
from edge_node.posture.steadiness import Steadier
from edge_node.vision.landmarks import Image
from edge_node.vision.sources import IMAGE_SUFFIXES
from edge_node.vocabulary import SENSITIVITIES, Sensitivity

Label = Literal["good", "bad", "empty"]
LABELS: tuple[Label, ...] = ("good", "bad", "empty")
VERDICTS = ("good", "bad", "unknown", "away")
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"})
EXIT_USAGE = 2
DEFAULT_VIDEO_FPS = 10.0


class EvaluateError(EdgeNodeError):
    """The folder cannot be evaluated; the message says why."""


@dataclass(frozen=True)
class Sample:
    """One file to evaluate: an image with a label, or a video with one label or per-frame labels."""

    path: Path
    label: Label | None
    frame_labels: dict[int, Label] | None = None

    @property
    def is_video(self) -> bool:
        """True for a video file (its frames are judged as a camera's)."""
        return self.path.suffix.lower() in VIDEO_SUFFIXES


@dataclass
class Tally:
    """Counts over all samples (every frame of a video is a sample)."""

    n: int = 0
    right: int = 0
    persons: int = 0
    detected: int = 0
    right_detected: int = 0
    false_present: int = 0
    false_bad: int = 0
    missed_bad: int = 0
    unknown: int = 0
    confusion: dict[str, Counter[str]] = field(default_factory=lambda: {label: Counter() for label in LABELS})
    views: dict[str, Counter[str]] = field(default_factory=dict)
    clips: list[ClipResult] = field(default_factory=list)

    def add(self, label: Label, reading: Reading) -> str:
        """Count one labelled sample; return its verdict word."""
        verdict = reading.verdict if reading.person else "away"
        self.n += 1
        self.confusion[label][verdict] += 1
        self.unknown += verdict == "unknown"
        self.false_bad += verdict == "bad" and label != "bad"
        if label == "empty":
            self.right += not reading.person
            self.false_present += reading.person
            return verdict
        self.persons += 1
        self.right += verdict == label
        if reading.person:
            self.detected += 1
            self.right_detected += verdict == label
            self.missed_bad += label == "bad" and verdict != "bad"
            view = self.views.setdefault(reading.view, Counter())
            view["n"] += 1
            view["right"] += verdict == label
        return verdict

    def summary(self) -> dict[str, Any]:
        """The final JSON line."""
        return {
            "n": self.n,
            "detected": self.detected,
            "accuracy": _share(self.right, self.n),
            "accuracy_detected": _share(self.right_detected, self.detected),
            "false_present": self.false_present,
            "false_bad": self.false_bad,
            "missed_bad": self.missed_bad,
            "unknown": self.unknown,
            "views": {
                view: {"n": counts["n"], "accuracy": _share(counts["right"], counts["n"])}
                for view, counts in sorted(self.views.items())
            },
            "confusion": {
                label: {verdict: self.confusion[label][verdict] for verdict in VERDICTS} for label in LABELS
            },
            **({"video": video_summary(self.clips)} if self.clips else {}),
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class ClipResult:
    """A labelled video played as the node plays a camera: its published state, flip by flip."""

    frames: int = 0
    judged: int = 0
    right: int = 0
    steady_right: int = 0
    flips: int = 0
    label_changes: int = 0
    time_to_bad_s: list[float] = field(default_factory=list)
    missed_changes: int = 0


def video_summary(clips: list[ClipResult]) -> dict[str, Any]:
    """The video part of the final JSON line."""
    judged = sum(c.judged for c in clips)
    delays = sorted(d for c in clips for d in c.time_to_bad_s)
    return {
        "clips": len(clips),
        "frames": sum(c.frames for c in clips),
        "frame_accuracy": _share(sum(c.right for c in clips), judged),
        "state_accuracy": _share(sum(c.steady_right for c in clips), judged),
        "label_changes": sum(c.label_changes for c in clips),
        "flips": sum(c.flips for c in clips),
        "time_to_bad_s": {
            "n": len(delays),
            "p50": round(delays[len(delays) // 2], 2) if delays else None,
            "max": round(delays[-1], 2) if delays else None,
            "missed": sum(c.missed_changes for c in clips),
        },
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The folder, `--sensitivity` and `--baseline`."""
    parser.add_argument("dir", type=Path, metavar="DIR", help="folder with good/, bad/ and empty/ subfolders")
    parser.add_argument("--sensitivity", choices=SENSITIVITIES, default="medium", help="default medium")
    parser.add_argument("--baseline", type=Path, help="a calibration.json to classify relative to")


def main(args: argparse.Namespace) -> int:
    """Evaluate the folder; print a line per file and the JSON summary."""
    try:
        samples = find_samples(args.dir)
        baseline = _load_baseline(args.baseline) if args.baseline else None
    except EvaluateError as exc:
        print(f"deskpulse-edge evaluate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    tally = evaluate(samples, args.dir, sensitivity=args.sensitivity, baseline=baseline)
    print(json.dumps(tally.summary()), flush=True)
    return 0


def _load_baseline(path: Path) -> Baseline:
    try:
        return Baseline.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise EvaluateError(f"--baseline '{path}': cannot read it ({exc.strerror})") from exc
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise EvaluateError(f"--baseline '{path}' is not a calibration file: {first}") from exc


def _label_dirs(root: Path) -> dict[Label, list[Path]]:
    found: dict[Label, list[Path]] = {}
    for label in LABELS:
        direct = root / label
        nested = sorted(p for p in root.glob(f"*/{label}") if p.is_dir())
        dirs = [direct] if direct.is_dir() else nested
        if dirs:
            found[label] = dirs
    return found


def _read_labels_csv(path: Path) -> dict[int, Label]:
    labels: dict[int, Label] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise EvaluateError(f"labels file '{path}' cannot be read: {exc}") from exc
    for number, row in enumerate(rows, start=2):
        try:
            frame = int(row["frame"])
            label = (row.get("label") or "").strip().lower()
        except (KeyError, TypeError, ValueError) as exc:
            raise EvaluateError(
                f"labels file '{path}' line {number}: needs columns frame,label with a frame number"
            ) from exc
        if label in LABELS:
            labels[frame] = label
    return labels


def find_samples(root: Path) -> list[Sample]:
    """Every labelled image and video under `root`, in a stable order."""
    if not root.is_dir():
        raise EvaluateError(f"'{root}' is not a folder")
    samples: list[Sample] = []
    in_label_dirs: set[Path] = set()
    for label, dirs in _label_dirs(root).items():
        for folder in dirs:
            for path in sorted(folder.iterdir()):
                suffix = path.suffix.lower()
                if not path.is_file() or suffix not in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                    continue
                in_label_dirs.add(path)
                labels_csv = path.with_suffix(".csv")
                frame_labels = (
                    _read_labels_csv(labels_csv)
                    if suffix in VIDEO_SUFFIXES and labels_csv.is_file()
                    else None
                )
                samples.append(Sample(path, label, frame_labels))
    for path in sorted(root.rglob("*")):
        if path in in_label_dirs or path.suffix.lower() not in VIDEO_SUFFIXES or not path.is_file():
            continue
        labels_csv = path.with_suffix(".csv")
        if labels_csv.is_file():
            samples.append(Sample(path, None, _read_labels_csv(labels_csv)))
        else:
            print(
                f"# skipped {path.relative_to(root)}: no {labels_csv.name} with per-frame labels",
                file=sys.stderr,
            )
    if not samples:
        raise EvaluateError(f"'{root}' has no images or labelled videos in good/, bad/ or empty/ folders")
    return samples


def _measures_text(reading: Reading) -> str:
    if not reading.person:
        return "-"
    parts = [f"view={reading.view}", *(f"{k}={v:g}" for k, v in reading.measures.items())]
    return " ".join(parts)


def _line(name: str, expected: str, verdict: str, reason: str, measures: str, *, width: int = 40) -> str:
    """Columns padded and always at least two spaces apart (reasons have single spaces)."""
    return f"{name:<{width}}  {expected:<8}  {verdict:<8}  {reason:<28}  {measures}"


def evaluate(
    samples: list[Sample],
    root: Path,
    *,
    sensitivity: Sensitivity = "medium",
    baseline: Baseline | None = None,
) -> Tally:
    """Classify every sample, print one line per file, and return the counts."""
    import cv2

    from edge_node.vision.pose import PoseEstimator

    tally = Tally()
    width = max(len(str(sample.path.relative_to(root))) for sample in samples)
    still = PoseEstimator(static_images=True)
    try:
        for sample in samples:
            name = str(sample.path.relative_to(root))
            if sample.is_video:
                _evaluate_video(sample, name, tally, sensitivity=sensitivity, baseline=baseline, width=width)
                continue
            image = cv2.imread(str(sample.path))
            if image is None or sample.label is None:
                print(f"# skipped {name}: cannot decode the image", file=sys.stderr)
                continue
            detection = still.detect(image)
            reading = classify(
                detection.pose, sensitivity=sensitivity, baseline=baseline, picture=detection.picture
            )
            verdict = tally.add(sample.label, reading)
            reason = reading.reason_text or ("no person" if not reading.person else "-")
            print(
                _line(name, sample.label, verdict, reason, _measures_text(reading), width=width), flush=True
            )
    finally:
        still.close()
    return tally


def _frames(path: Path) -> Iterator[Image]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return
        while True:
            ok, image = capture.read()
            if not ok or image is None:
                return
            yield image
    finally:
        capture.release()


def _video_fps(path: Path) -> float:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS))
    finally:
        capture.release()
    return fps if 0 < fps < 1000 else DEFAULT_VIDEO_FPS


def _steady_right(label: Label, posture: str) -> bool:
    return posture == ("away" if label == "empty" else label)


def _evaluate_video(
    sample: Sample,
    name: str,
    tally: Tally,
    *,
    sensitivity: Sensitivity,
    baseline: Baseline | None,
    width: int,
) -> None:
    """Frames of a video played as the node plays a camera: each judged, tempered and steadied."""
    from edge_node.vision.pose import PoseEstimator

    estimator = PoseEstimator(static_images=True)  # the node's default: detection on every frame
    fps = _video_fps(sample.path)
    steadier = Steadier(steady_config(PostureConfig()), 0.0)
    recent: deque[Reading] = deque(maxlen=RECENT_FRAMES)
    clip = ClipResult()
    verdicts: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    previous: Label | None = None
    bad_since: float | None = None
    earned = False
    try:
        for index, image in enumerate(_frames(sample.path)):
            clip.frames += 1
            ts = index / fps
            detection = estimator.detect(image)
            raw = classify(
                detection.pose, sensitivity=sensitivity, baseline=baseline, picture=detection.picture
            )
            reading = temper(raw, recent)
            recent.append(raw)
            if steadier.update(reading, ts):
                clip.flips += earned  # the first verdict is not a flip
                earned = True
            label = sample.frame_labels.get(index) if sample.frame_labels is not None else sample.label
            if label is None:
                continue
            clip.judged += 1
            labels[label] += 1
            verdict = tally.add(label, reading)
            verdicts[verdict] += 1
            clip.right += _steady_right(label, verdict)
            clip.steady_right += _steady_right(label, steadier.posture)
            if previous is not None and label != previous:
                clip.label_changes += 1
                if bad_since is not None:
                    clip.missed_changes += 1  # bad ended before it was published
                bad_since = ts if label == "bad" else None
            previous = label
            if bad_since is not None and steadier.posture == "bad":
                clip.time_to_bad_s.append(round(ts - bad_since, 2))
                bad_since = None
    finally:
        estimator.close()
    if clip.frames == 0:
        print(f"# skipped {name}: cannot decode the video", file=sys.stderr)
        return
    tally.clips.append(clip)
    expected = labels.most_common(1)[0][0] if len(labels) == 1 else ("mixed" if labels else "-")
    verdict = verdicts.most_common(1)[0][0] if verdicts else "-"
    delays = ",".join(f"{d:g}" for d in clip.time_to_bad_s) or "-"
    summary = (
        f"frames={clip.frames} labelled={clip.judged} right={clip.right} steady_right={clip.steady_right} "
        f"label_changes={clip.label_changes} flips={clip.flips} time_to_bad_s={delays} "
        + " ".join(f"{v}={verdicts[v]}" for v in VERDICTS if verdicts[v])
    )
    print(_line(name, expected, verdict, "-", summary, width=width), flush=True)
