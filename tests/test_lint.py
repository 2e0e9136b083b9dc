"""Style and types are part of the test suite, so the one test command checks them too."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import ROOT

CHECKS = {
    "ruff check": ["-m", "ruff", "check", "."],
    "ruff format": ["-m", "ruff", "format", "--check", "."],
    "mypy": ["-m", "mypy"],  # strict, the files listed in pyproject.toml
}


@pytest.mark.parametrize("name", CHECKS)
def test_clean(name: str) -> None:
    result = subprocess.run(
        [sys.executable, *CHECKS[name]], cwd=ROOT, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, f"{name}:\n{result.stdout[-4000:]}{result.stderr[-2000:]}"
