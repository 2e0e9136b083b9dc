"""Clip: make a labelled test video from photos, each held for some seconds as a sitting person is.

`deskpulse-edge clip OUT.avi good/me.jpg:20 bad/me_slouching.jpg:20` writes OUT.avi (MJPEG) at
`--fps` and OUT.csv (`frame,label`), the label of each photo being the name of its folder (good, bad
or empty) unless given as `PHOTO:SECONDS:LABEL`. Every frame gets a webcam's sensor noise and a
few pixels of movement (a still scene is never a still picture), so the clip plays like a camera:
`evaluate` judges it as the node would, and `--source OUT.avi` replays it into a node.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np

from edge_node.errors import EdgeNodeError
from edge_node.vision.landmarks import Image

LABELS: Final = ("good", "bad", "empty")
DEFAULT_FPS: Final = 10.0
MAX_SIDE: Final = 640  # a webcam's picture: the clip takes the first photo's shape at this size
NOISE_SIGMA: Final = 4.0  # grey levels: a webcam's sensor noise indoors
NOISE_SHIFT: Final = 3  # pixels of movement between frames (breathing, a nudged desk)
EXIT_USAGE: Final = 2


class ClipError(EdgeNodeError, ValueError):
    """A segment that cannot be made into frames; the message says why."""


@dataclass(frozen=True)
class Segment:
    """One photo, held for `seconds`, with the label its frames get."""

    image: Image
    seconds: float
    label: str


def cover(image: Image, size: tuple[int, int]) -> Image:
    """Scale to cover `size` and crop the centre, as a camera frames a scene."""
    width, height = size
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    resized = cv2.resize(image, (max(width, round(w * scale)), max(height, round(h * scale))))
    top = (resized.shape[0] - height) // 2
    left = (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[top : top + height, left : left + width])


def webcam_noise(
    image: Image, rng: np.random.Generator, sigma: float = NOISE_SIGMA, shift: int = NOISE_SHIFT
) -> Image:
    """A frame as a webcam delivers it: sensor noise and a few pixels of movement."""
    dx, dy = (float(v) for v in rng.integers(-shift, shift + 1, size=2))
    # A camera that moves a little sees the scene continue at the edges (no wrap-around).
    height, width = image.shape[:2]
    shift_matrix = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
    moved = cv2.warpAffine(image, shift_matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    noise = rng.normal(0.0, sigma, size=image.shape)
    noisy: Image = np.clip(moved.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return noisy


def clip_size(segments: Sequence[Segment]) -> tuple[int, int]:
    """The first photo's shape, its longer side at most MAX_SIDE, in even pixels (what encoders want)."""
    height, width = segments[0].image.shape[:2]
    scale = min(1.0, MAX_SIDE / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def frames(
    segments: Sequence[Segment], *, fps: float, size: tuple[int, int] | None = None, seed: int = 7
) -> Iterator[tuple[Image, str]]:
    """Every frame of the clip with its label, at `fps`, each photo covering `size` (default: the first's)."""
    size = size or clip_size(segments)
    rng = np.random.default_rng(seed)
    for segment in segments:
        still = cover(segment.image, size)
        for _ in range(max(1, round(segment.seconds * fps))):
            yield webcam_noise(still, rng), segment.label


def write_clip(
    path: Path, segments: Sequence[Segment], *, fps: float = DEFAULT_FPS, size: tuple[int, int] | None = None
) -> Path:
    """Write the clip (MJPEG in AVI) and its labels (`<path>.csv`); return the labels file."""
    size = size or clip_size(segments)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise ClipError(f"cannot write {path} (use an .avi name)")
    labels = path.with_suffix(".csv")
    try:
        with labels.open("w", newline="", encoding="utf-8") as handle:
            table = csv.writer(handle)
            table.writerow(["frame", "label"])
            for index, (image, label) in enumerate(frames(segments, fps=fps, size=size)):
                writer.write(image)
                table.writerow([index, label])
    finally:
        writer.release()
    return labels


def parse_segment(spec: str) -> Segment:
    """`PHOTO:SECONDS[:LABEL]`; the label defaults to the photo's folder name."""
    parts = spec.rsplit(":", 2) if spec.count(":") >= 2 else spec.rsplit(":", 1)
    if len(parts) < 2:
        raise ClipError(f"{spec!r}: expected PHOTO:SECONDS or PHOTO:SECONDS:LABEL")
    photo, seconds_text = parts[0], parts[1]
    label = parts[2] if len(parts) == 3 else Path(photo).parent.name
    try:
        seconds = float(seconds_text)
    except ValueError:
        raise ClipError(f"{spec!r}: {seconds_text!r} is not a number of seconds") from None
    if not 0 < seconds <= 3600:
        raise ClipError(f"{spec!r}: seconds must be above 0 and at most 3600")
    if label not in LABELS:
        raise ClipError(
            f"{spec!r}: the label must be one of {', '.join(LABELS)} (the photo's folder, or :LABEL)"
        )
    image = cv2.imread(photo, cv2.IMREAD_COLOR)
    if image is None:
        raise ClipError(f"{spec!r}: cannot read {photo} as an image")
    return Segment(image, seconds, label)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The output file, the segments and `--fps`."""
    parser.add_argument(
        "out", type=Path, metavar="OUT.avi", help="the clip to write (its labels go to OUT.csv)"
    )
    parser.add_argument("segments", nargs="+", metavar="PHOTO:SECONDS[:LABEL]", help="photos in order")
    parser.add_argument(
        "--fps", type=float, default=DEFAULT_FPS, help=f"frame rate (default {DEFAULT_FPS:g})"
    )


def main(args: argparse.Namespace) -> int:
    """Write the clip and its labels."""
    try:
        if not 1 <= args.fps <= 60:
            raise ClipError("--fps must be from 1 to 60")
        segments = [parse_segment(spec) for spec in args.segments]
        labels = write_clip(args.out, segments, fps=args.fps)
    except ClipError as exc:
        print(f"deskpulse-edge clip: {exc}", file=sys.stderr)
        return EXIT_USAGE
    seconds = sum(s.seconds for s in segments)
    print(f"wrote {args.out} ({seconds:g} s at {args.fps:g} fps) and {labels}")
    return 0
