"""The dashboard's JavaScript is checked like the Python: ESLint, and TypeScript over its JSDoc types.

Both tools are the dashboard's npm devDependencies (dashboard/package.json), installed into
dashboard/node_modules by `scripts/install.sh --test`.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.support import ROOT

DASHBOARD = ROOT / "dashboard"
BIN = DASHBOARD / "node_modules" / ".bin"
CHECKS = {
    "eslint": ["eslint", "--max-warnings", "0", "."],  # eslint.config.mjs
    "tsc": ["tsc", "-p", "jsconfig.json"],  # strict, checkJs, noEmit; types.d.ts declares window.DeskPulse
}


@pytest.mark.parametrize("name", CHECKS)
def test_dashboard_javascript_is_clean(name: str) -> None:
    tool, *args = CHECKS[name]
    executable = BIN / tool
    assert executable.is_file(), f"{executable.relative_to(ROOT)} is missing: run scripts/install.sh --test"
    result = subprocess.run(
        [str(executable), *args], cwd=DASHBOARD, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, f"{name} found problems:\n{result.stdout[-6000:]}{result.stderr[-2000:]}"
