"""scripts/install.sh chooses its Python before creating anything, and refuses what mediapipe cannot run.

Stand-in interpreters (a shell script that answers like the probe) make this independent of the Pythons
installed here; scripts/check-pythons.sh does the real thing with real ones in CI.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import ROOT

WHAT_TO_INSTALL = (
    "install Python 3.12, 3.11 or 3.10 (e.g. apt-get install python3.11, or pyenv install 3.12), "
    "then PYTHON=python3.12 scripts/install.sh"
)


def fake_python(folder: Path, name: str, version: str) -> Path:
    """An executable that prints what install.sh's probe prints: the version and sys.executable."""
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "{version} $0"\n')
    path.chmod(0o755)
    return path


def run_install(tmp_path: Path, python: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "install.sh", tmp_path / "scripts" / "install.sh")
    return subprocess.run(
        ["bash", str(tmp_path / "scripts" / "install.sh")],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin", "PYTHON": python},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


UNSUPPORTED = [("3.13.0", "no wheels for 3.13"), ("3.9.18", "amqtt needs 3.10")]


@pytest.mark.parametrize(("version", "why"), UNSUPPORTED)
def test_an_unsupported_python_is_refused_with_what_to_install(
    tmp_path: Path, version: str, why: str
) -> None:
    fake_python(tmp_path, "python-x", version)
    result = run_install(tmp_path, "python-x")
    assert result.returncode == 1
    line = result.stderr.strip()
    assert line.startswith(f"PYTHON=python-x is Python {version}, but DeskPulse Edge needs Python 3.10")
    assert why in line
    assert line.endswith(WHAT_TO_INSTALL)
    assert not (tmp_path / ".venv").exists()


def test_a_missing_python_is_named(tmp_path: Path) -> None:
    result = run_install(tmp_path, "python-nowhere")
    assert result.returncode == 1
    assert result.stderr.strip() == f"PYTHON=python-nowhere: no such command: {WHAT_TO_INSTALL}"
    assert not (tmp_path / ".venv").exists()
