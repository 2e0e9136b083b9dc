"""The install ends with exactly one cv2, the headless build, and a consistent environment."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _cv2_owners() -> list[str]:
    owners = []
    for dist in importlib.metadata.distributions():
        files = dist.files or []
        if any(str(f).replace("\\", "/") == "cv2/__init__.py" for f in files):
            owners.append(dist.metadata["Name"])
    return owners


def test_exactly_one_opencv_owns_cv2() -> None:
    assert _cv2_owners() == ["opencv-python-headless"]


def test_cv2_does_not_link_gui_libraries() -> None:
    import cv2

    if shutil.which("ldd") is None:
        pytest.fail("ldd is needed to inspect the cv2 extension")
    extension = next(Path(cv2.__file__).parent.glob("cv2*.so"))
    linked = subprocess.run(["ldd", str(extension)], capture_output=True, text=True, check=True).stdout
    for gui in ("libGL.so", "libQt", "libgtk", "libX11"):
        assert gui not in linked, f"{extension.name} links {gui}"


def test_pip_check_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mediapipe_pose_model_is_bundled() -> None:
    import mediapipe

    modules = Path(mediapipe.__file__).parent / "modules" / "pose_landmark"
    assert (modules / "pose_landmark_full.tflite").is_file()


def test_the_node_loads_mediapipe_without_matplotlib_and_leaves_it_importable() -> None:
    """mediapipe's drawing helpers import matplotlib.pyplot (~30 MB RSS); the node never draws."""
    code = """
import sys
import numpy as np
from edge_node.vision.pose import PoseEstimator
from skimage import data
estimator = PoseEstimator(static_images=True)
found = estimator.detect(np.ascontiguousarray(data.astronaut()[:, :, ::-1])).pose is not None
loaded = "matplotlib" in sys.modules
import matplotlib.pyplot
print(found, loaded, callable(getattr(matplotlib.pyplot, "plot", None)))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "False", "True"]
