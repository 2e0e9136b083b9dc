"""MediaPipe Pose (the legacy `solutions.pose` API with the model bundled in mediapipe 0.10.18).

Nothing is downloaded: `model_complexity=1` uses `pose_landmark_full.tflite` from the wheel.
"""

from __future__ import annotations

import os
import resource
import sys
import time
import types
from dataclasses import dataclass
from typing import Any

import cv2

from edge_node.vision.landmarks import Image, PictureStats, Pose

# MediaPipe's C++ logging (absl/glog) is chatty on stderr; keep only errors where these settings
# reach it. The few `W0000` lines absl writes before its logging is initialised still appear.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# In tracking mode MediaPipe follows the person found earlier and skips the detector; when that
# person leaves, the landmark model can keep "tracking" an empty scene with high visibility (seen
# here: a person photo followed by an empty table stayed "present" indefinitely). Restarting the
# graph this often forces a fresh detection, so a phantom lasts at most this long. A restart costs
# about 60 ms here (graph start + detector), which is why detecting on every frame is the default.
REDETECT_EVERY_S = 2.0

MODEL_NAMES = {0: "mediapipe-pose-lite", 1: "mediapipe-pose-full", 2: "mediapipe-pose-heavy"}


def import_mediapipe() -> Any:
    """`import mediapipe`, without the matplotlib that its drawing helpers pull in.

    mediapipe 0.10.18's `__init__` imports `solutions.drawing_utils`, which imports
    `matplotlib.pyplot` for a plotting helper the node never calls. That import costs about 30 MB
    of RSS (101.7 MB after `import mediapipe` against 71.0 MB without it, measured here) and
    0.3 s at start, a tenth of the 300 MB budget on a Pi. Empty stand-ins satisfy the import and
    are removed again at once, so a later real `import matplotlib` in the same process works.
    """
    if "mediapipe" in sys.modules or "matplotlib" in sys.modules:
        import mediapipe

        return mediapipe
    stand_ins = {name: types.ModuleType(name) for name in ("matplotlib", "matplotlib.pyplot")}
    sys.modules.update(stand_ins)
    try:
        import mediapipe
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
    return mediapipe


def new_pose(*, model_complexity: int, static_images: bool) -> Any:
    """MediaPipe's `solutions.pose.Pose` as the node runs it (the benchmark's bare run uses it too)."""
    mp = import_mediapipe()  # imported here: it takes ~1 s and pure code must not need it
    return mp.solutions.pose.Pose(
        static_image_mode=static_images,
        model_complexity=model_complexity,
        smooth_landmarks=not static_images,
        enable_segmentation=False,
        min_detection_confidence=0.5,
        min_tracking_confidence=0.5,
    )


# Picture statistics are taken on a copy this wide (a 640x480 frame: about 0.2 ms here).
STATS_WIDTH = 64


@dataclass(frozen=True)
class Detection:
    """The pose found in one image (or None), the picture's light and detail, and what it cost."""

    pose: Pose | None
    inference_ms: float
    picture: PictureStats | None = None
    cpu_ms: float | None = None  # the process's CPU time during the model's run (all its threads)


def process_cpu_s() -> float:
    """The process's CPU time so far (user + system, every thread), to the microsecond."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def picture_stats(image_bgr: Image) -> PictureStats:
    """Mean and standard deviation of the luma, on a small copy (noise averages out, detail stays)."""
    height, width = image_bgr.shape[:2]
    small = cv2.resize(
        image_bgr, (STATS_WIDTH, max(1, round(height * STATS_WIDTH / width))), interpolation=cv2.INTER_AREA
    )
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    mean, std = cv2.meanStdDev(grey)
    return PictureStats(brightness=round(float(mean[0][0]), 2), contrast=round(float(std[0][0]), 2))


class PoseEstimator:
    """Wraps `mediapipe.solutions.pose.Pose`; not thread-safe, use from one thread."""

    def __init__(
        self,
        *,
        model_complexity: int = 1,
        static_images: bool = False,
        redetect_every_s: float = REDETECT_EVERY_S,
    ) -> None:
        self._pose = new_pose(model_complexity=model_complexity, static_images=static_images)
        version = import_mediapipe().__version__  # already imported by new_pose
        self.model_name = f"{MODEL_NAMES.get(model_complexity, 'mediapipe-pose')} (mediapipe {version})"
        self._redetect_every_s = None if static_images else redetect_every_s
        self._last_reset = time.monotonic()

    def detect(self, image_bgr: Image) -> Detection:
        """Run pose detection on a BGR image."""
        height, width = image_bgr.shape[:2]
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        rgb.flags.writeable = False
        cpu_before = process_cpu_s()
        started = time.perf_counter()
        if (
            self._redetect_every_s is not None
            and time.monotonic() - self._last_reset >= self._redetect_every_s
        ):
            self._pose.reset()
            self._last_reset = time.monotonic()
        result = self._pose.process(rgb)
        elapsed_ms = (time.perf_counter() - started) * 1000
        cpu_ms = (process_cpu_s() - cpu_before) * 1000
        picture = picture_stats(image_bgr)
        landmarks = result.pose_landmarks
        if landmarks is None:
            return Detection(None, elapsed_ms, picture, cpu_ms)
        rows = [(lm.x, lm.y, lm.z, lm.visibility) for lm in landmarks.landmark]
        return Detection(Pose.from_normalized(rows, width, height), elapsed_ms, picture, cpu_ms)

    def close(self) -> None:
        """Release MediaPipe's graph."""
        self._pose.close()
