"""Scripted desk scenes from photos, as folders of camera frames an image-folder source plays.

A scene is a list of (photo, seconds, label) segments. The shared posture photos give one person in a
good and a bad posture (`nvinay_straight_hf` / `nvinay_hunchback_hf`, side view) and a desk without
anybody (`mps_cup`); without them scikit-image's astronaut (good) and coffee cup (empty) stand in, and
there is no bad posture. Every frame gets a webcam's sensor noise and a few pixels of movement
(`edge_node.cli.clip.webcam_noise`, what `deskpulse-edge clip` does), so a still scene is never a
still picture. The frames keep the
portrait shape of the posture photos (360 x 640): cropped to 640 x 480 the person's head and hips fall
outside the picture and MediaPipe finds nobody.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bench.common import SHARED_POSTURE
from edge_node.cli.clip import Segment, clip_size, cover, webcam_noise
from edge_node.vision.landmarks import Image


@dataclass(frozen=True)
class Cast:
    """The photos scenes are made of."""

    good: Image
    bad: Image | None
    empty: Image
    names: dict[str, str]

    @property
    def size(self) -> tuple[int, int]:
        """The clip size (width, height): the good photo's shape, longer side 640."""
        return clip_size([Segment(self.good, 1.0, "good")])


def _read(path: Path) -> Image:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise RuntimeError(f"cannot read {path}")
    return image


def cast(*, shared: bool = True) -> Cast:
    """The shared photos of one person, good and bad, and an empty desk; scikit-image's without them."""
    images = SHARED_POSTURE / "images"
    good = images / "good" / "nvinay_straight_hf.jpg"
    bad = images / "bad" / "nvinay_hunchback_hf.jpg"
    empty = images / "empty" / "mps_cup.png"
    if shared and good.exists() and bad.exists() and empty.exists():
        names = {"good": good.stem, "bad": bad.stem, "empty": empty.stem}
        return Cast(_read(good), _read(bad), _read(empty), names)
    from skimage import data

    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)  # type: ignore[no-untyped-call]
    coffee = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)  # type: ignore[no-untyped-call]
    return Cast(astronaut, None, coffee, {"good": "skimage astronaut", "empty": "skimage coffee"})


def write_frame_folder(
    folder: Path,
    segments: Sequence[tuple[Image, float, str]],
    size: tuple[int, int],
    *,
    fps: float,
    distinct: int = 40,
    seed: int = 5,
) -> list[str]:
    """A folder of JPEG frames an image-folder source plays in name order at camera.max_fps.

    Each segment has `distinct` noisy frames; the sequence repeats them through hard links, so an hour
    of frames costs a few megabytes. Returns the label of every frame.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    labels: list[str] = []
    index = 0
    for number, (image, seconds, label) in enumerate(segments):
        still = cover(image, size)
        originals = []
        for k in range(distinct):
            original = folder / f".seg{number:03d}-{k:03d}.jpg"
            cv2.imwrite(str(original), webcam_noise(still, rng), [cv2.IMWRITE_JPEG_QUALITY, 90])
            originals.append(original)
        for k in range(max(1, round(seconds * fps))):
            os.link(originals[k % distinct], folder / f"{index:06d}.jpg")
            labels.append(label)
            index += 1
    for original in folder.glob(".seg*.jpg"):
        original.unlink()  # the numbered links keep the data
    return labels
