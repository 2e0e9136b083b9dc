"""Shared fixtures: real brokers, the real daemon, real photos."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.chromium import browser, playwright_driver  # noqa: F401  (session fixtures)
from tests.secure_broker import secure_broker_fixture  # noqa: F401  (fixture `secure_broker`)
from tests.support import SHARED_POSTURE, Daemon, Mosquitto, Watcher


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh mosquitto (anonymous, no persistence) on free loopback ports."""
    broker = Mosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.stop()


@pytest.fixture
def watcher_factory() -> Iterator[Callable[..., Watcher]]:
    watchers: list[Watcher] = []

    def make(port: int, topics: tuple[str, ...] = ("deskpulse/#",), **kwargs: object) -> Watcher:
        watcher = Watcher(port, topics, **kwargs)  # type: ignore[arg-type]
        watchers.append(watcher)
        return watcher

    yield make
    for watcher in watchers:
        watcher.close()


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    """Start `python -m edge_node …` processes; all are stopped at the end of the test."""
    daemons: list[Daemon] = []

    def make(*args: str, env: dict[str, str] | None = None, name: str = "node") -> Daemon:
        daemon = Daemon(list(args), tmp_path / name, env=env or {}).start()
        daemons.append(daemon)
        return daemon

    yield make
    for daemon in daemons:
        daemon.stop()


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real photos made by a dependency (scikit-image): a person, and scenes with nobody."""
    import cv2
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    images = {"astronaut": data.astronaut(), "coffee": data.coffee(), "rocket": data.rocket()}
    paths = {}
    for name, rgb in images.items():
        path = folder / f"{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        paths[name] = path
    return paths


@pytest.fixture(scope="session")
def shared_posture() -> Path:
    """The licensed posture photos beside the project, when present."""
    if not (SHARED_POSTURE / "images").is_dir():
        pytest.skip(f"{SHARED_POSTURE} is not present (optional extra photos)")
    return SHARED_POSTURE
