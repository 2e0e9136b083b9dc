"""Fixtures for the Home Assistant tests: one real HA and one mosquitto per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ha.harness import HomeAssistant, Install, ensure_installed, find_interpreter, python_names
from tests.ha.scenario import example_automations
from tests.support import Mosquitto


@pytest.fixture(scope="session")
def ha_install() -> Install:
    """Home Assistant's venv, installed on first use (about two minutes) and cached."""
    interpreter = find_interpreter()
    if interpreter is None:
        pytest.skip(f"Home Assistant needs Python >= 3.12: no {' or '.join(python_names())} found on PATH")
    return ensure_installed(interpreter, report=lambda line: print(f"\n[ha] {line}", flush=True))


@pytest.fixture(scope="module")
def ha_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """The broker Home Assistant and the nodes of one test module share."""
    broker = Mosquitto(tmp_path_factory.mktemp("ha-mosquitto")).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def home_assistant(
    ha_install: Install, ha_broker: Mosquitto, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HomeAssistant]:
    """A fresh Home Assistant (owner user, token, MQTT entry with discovery, the docs' example
    automations) on loopback."""
    workdir: Path = tmp_path_factory.mktemp("home-assistant")
    instance = HomeAssistant(ha_install, workdir, mqtt_port=ha_broker.port, automations=example_automations())
    try:
        instance.start()
    except BaseException:
        instance.stop()
        raise
    yield instance
    instance.stop()
