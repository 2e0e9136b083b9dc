"""deploy/deskpulse-edge.service: systemd accepts it, and it says what docs/deploy.md promises.

There is no systemd PID 1 here; `systemd-analyze verify` checks the unit as systemd would load it,
and tests/test_watchdog.py runs the daemon against a notify socket as systemd would.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge_node.config import ENV_CONFIG_FILE, ENV_FIELDS
from tests.support import ROOT

UNIT = ROOT / "deploy" / "deskpulse-edge.service"
INSTALL_DIR = "/opt/deskpulse-edge"


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections of a systemd unit as (key, value) lists (keys may repeat, e.g. Environment)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"setting outside a section: {line}"
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {line}"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> str:
    found = values(unit, section, key)
    assert len(found) == 1, f"[{section}] {key} should be set once, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def unit() -> dict[str, list[tuple[str, str]]]:
    return parse_unit(UNIT.read_text())


def test_notify_service_with_a_watchdog_restarted_on_failure(unit: dict[str, list[tuple[str, str]]]) -> None:
    assert one(unit, "Service", "Type") == "notify"
    assert one(unit, "Service", "NotifyAccess") == "main"
    assert one(unit, "Service", "Restart") == "on-failure"
    watchdog = one(unit, "Service", "WatchdogSec")
    assert watchdog.isdigit() and 10 <= int(watchdog) <= 120
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def test_runs_as_a_non_root_user_in_the_video_group(unit: dict[str, list[tuple[str, str]]]) -> None:
    assert one(unit, "Service", "User") not in ("root", "0", "")
    assert "video" in one(unit, "Service", "SupplementaryGroups").split()


def test_exec_start_runs_the_node_from_the_install_dir(unit: dict[str, list[tuple[str, str]]]) -> None:
    command = one(unit, "Service", "ExecStart").split()
    assert command == [f"{INSTALL_DIR}/.venv/bin/deskpulse-edge", "run"]
    assert one(unit, "Service", "WorkingDirectory") == INSTALL_DIR


def test_environment_names_are_settings_the_node_knows(unit: dict[str, list[tuple[str, str]]]) -> None:
    env = dict(item.split("=", 1) for item in values(unit, "Service", "Environment"))
    assert env, "the unit should point the node at its config and data dir"
    for name in env:
        assert name == ENV_CONFIG_FILE or name in ENV_FIELDS, f"{name} is not a DESKPULSE_* setting"
    # The data dir is the one systemd creates and hands to the user (StateDirectory=).
    assert env["DESKPULSE_DATA_DIR"] == "/var/lib/" + one(unit, "Service", "StateDirectory")


def test_the_units_settings_make_a_valid_config(
    tmp_path: Path, unit: dict[str, list[tuple[str, str]]]
) -> None:
    """`deskpulse-edge config` with the unit's environment (config file and data dir moved here)."""
    env = dict(item.split("=", 1) for item in values(unit, "Service", "Environment"))
    config = tmp_path / "config.toml"
    config.write_text('node_id = "desk-1"\n[camera]\nsource = "0"\n')
    env["DESKPULSE_CONFIG"] = str(config)
    env["DESKPULSE_DATA_DIR"] = str(tmp_path / "state")
    result = subprocess.run(
        [sys.executable, "-m", "edge_node", "config"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"node_id": "desk-1"' in result.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    """systemd's own check, with ExecStart pointed at this checkout's console script (it must exist)."""
    script = Path(sys.executable).parent / "deskpulse-edge"
    assert script.exists(), "run scripts/install.sh first"
    text = UNIT.read_text().replace(f"{INSTALL_DIR}/.venv/bin/deskpulse-edge", str(script))
    assert str(script) in text
    copy = tmp_path / "deskpulse-edge.service"
    copy.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    # verify only warns (exit 0) about unknown keys and bad values: any line about the unit is a failure.
    problems = [line for line in result.stderr.splitlines() if copy.name in line]
    assert problems == [], "\n".join(problems)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_catches_a_typo(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key is reported."""
    script = Path(sys.executable).parent / "deskpulse-edge"
    text = UNIT.read_text().replace(f"{INSTALL_DIR}/.venv/bin/deskpulse-edge", str(script))
    copy = tmp_path / "deskpulse-edge.service"
    copy.write_text(text.replace("WatchdogSec=", "WatchdogSecs="))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    assert "WatchdogSecs" in result.stderr
