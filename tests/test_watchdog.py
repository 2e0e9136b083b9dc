"""systemd watchdog: the real daemon talks to a notify socket bound here, as systemd's would be.

The daemon pings WATCHDOG=1 only while its processing loop goes round and the capture thread makes
progress. "A test build" freezes one of them: a `sitecustomize` module put on PYTHONPATH (only in
these tests) wraps the pose model or the image source so that, once a flag file exists, the next
call blocks forever, as a hung model or camera driver would.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import Daemon, Mosquitto, Watcher, wait_until

pytestmark = pytest.mark.slow

WATCHDOG_S = 10  # WATCHDOG_USEC handed to the daemon; systemd wants a ping at least this often
STALL_S = 1  # camera.stall_s: with no capture progress for 2x this, the node stops pinging
READY_TIMEOUT_S = 120  # loading MediaPipe on a busy machine

FREEZE_HOOK = '''
"""Test build only: block a call forever once the file named by TEST_FREEZE_FLAG exists."""
import os
import threading
from pathlib import Path

_flag = Path(os.environ["TEST_FREEZE_FLAG"])
_what = os.environ["TEST_FREEZE"]


def _freezing(func):
    def wrapper(*args, **kwargs):
        if _flag.exists():
            _flag.with_suffix(".frozen").write_text(threading.current_thread().name)
            threading.Event().wait()  # hung: never returns
        return func(*args, **kwargs)
    return wrapper


if _what == "model":
    import edge_node.vision.pose as _pose
    _pose.PoseEstimator.detect = _freezing(_pose.PoseEstimator.detect)
elif _what == "camera":
    import edge_node.vision.sources as _sources
    _sources.ImageSource.grab = _freezing(_sources.ImageSource.grab)
'''


class NotifySocket:
    """A datagram socket standing in for systemd's $NOTIFY_SOCKET; records every message with its time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[tuple[float, str]] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name="notify-socket", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                for line in data.decode().splitlines():
                    self.messages.append((time.monotonic(), line))

    def times(self, message: str, since: float = 0.0) -> list[float]:
        with self._lock:
            return [t for t, m in self.messages if m == message and t >= since]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


def start_frozen_daemon(
    daemon_factory: Callable[..., Daemon],
    tmp_path: Path,
    mosquitto: Mosquitto,
    notify: NotifySocket,
    *,
    source: Path,
    freeze: str,
) -> tuple[Daemon, Path]:
    """The real daemon with the freeze hook armed for `freeze` ("model" or "camera")."""
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(FREEZE_HOOK)
    flag = tmp_path / "freeze.flag"
    env = {
        "NOTIFY_SOCKET": str(notify.path),
        "WATCHDOG_USEC": str(WATCHDOG_S * 1_000_000),
        "PYTHONPATH": str(hook_dir),
        "TEST_FREEZE": freeze,
        "TEST_FREEZE_FLAG": str(flag),
        "DESKPULSE_CAMERA__STALL_S": str(STALL_S),
        "DESKPULSE_HOMEASSISTANT__ENABLED": "false",
    }
    args = ["--broker", mosquitto.url, "--source", str(source), "--loop", "--max-fps", "5"]
    args += ["--node-id", "wd", "--data-dir", str(tmp_path / "data")]
    return daemon_factory(*args, env=env), flag


def max_gap(times: list[float], start: float, end: float) -> float:
    """The longest stretch in [start, end] without a ping."""
    points = [start, *[t for t in times if start <= t <= end], end]
    return max(b - a for a, b in itertools.pairwise(points))


def assert_ready_and_pinging(daemon: Daemon, notify: NotifySocket) -> None:
    wait_until(
        lambda: notify.times("READY=1") or not daemon.alive(), READY_TIMEOUT_S, what="READY=1 from the daemon"
    )
    assert daemon.alive(), daemon.log()
    ready_at = notify.times("READY=1")[0]
    time.sleep(4)
    now = time.monotonic()
    pings = notify.times("WATCHDOG=1", since=ready_at)
    # About one a second; a busy machine stretches the loop's passes, so 3 in 4 s is the floor.
    assert len(pings) >= 3, f"only {len(pings)} WATCHDOG=1 in 4 s after READY=1"
    # systemd kills a service that stays silent for WatchdogSec; the node pings far more often.
    assert max_gap(pings, ready_at, now) < WATCHDOG_S / 2


def assert_pings_stop(daemon: Daemon, notify: NotifySocket, flag: Path, within_s: float) -> None:
    """After the freeze, WATCHDOG=1 stops for good while the process stays alive (systemd would kill it)."""
    flag.touch()
    frozen_marker = flag.with_suffix(".frozen")
    wait_until(frozen_marker.exists, 30, what="the frozen call")
    frozen_at = time.monotonic()
    silent_for = WATCHDOG_S + 2
    wait_until(
        lambda: time.monotonic() - max(notify.times("WATCHDOG=1"), default=frozen_at) > silent_for,
        within_s + silent_for + 30,
        interval=0.5,
        what=f"{silent_for} s without WATCHDOG=1",
    )
    last = max(notify.times("WATCHDOG=1"), default=frozen_at)
    assert last - frozen_at <= within_s, f"pings went on {last - frozen_at:.1f} s after the freeze"
    assert daemon.alive(), "the daemon should hang, not exit: systemd's watchdog is what ends it"


def test_ready_then_pings_then_stopping(
    daemon_factory: Callable[..., Daemon],
    tmp_path: Path,
    mosquitto: Mosquitto,
    notify: NotifySocket,
    photos: dict[str, Path],
) -> None:
    daemon, _flag = start_frozen_daemon(
        daemon_factory, tmp_path, mosquitto, notify, source=photos["astronaut"], freeze="none"
    )
    assert_ready_and_pinging(daemon, notify)
    assert daemon.terminate(30) == 0
    assert notify.times("STOPPING=1"), "no STOPPING=1 on SIGTERM"


def test_hung_model_stops_the_watchdog(
    daemon_factory: Callable[..., Daemon],
    tmp_path: Path,
    mosquitto: Mosquitto,
    notify: NotifySocket,
    photos: dict[str, Path],
) -> None:
    daemon, flag = start_frozen_daemon(
        daemon_factory, tmp_path, mosquitto, notify, source=photos["astronaut"], freeze="model"
    )
    assert_ready_and_pinging(daemon, notify)
    # The processing loop is stuck inside detect(): nothing calls notify any more.
    assert_pings_stop(daemon, notify, flag, within_s=1.0)
    assert flag.with_suffix(".frozen").read_text() == "MainThread"


def test_hung_camera_stops_the_watchdog_and_says_so(
    daemon_factory: Callable[..., Daemon],
    tmp_path: Path,
    mosquitto: Mosquitto,
    notify: NotifySocket,
    photos: dict[str, Path],
) -> None:
    watcher = Watcher(mosquitto.port, ("deskpulse/wd/camera",)).wait_connected()
    try:
        daemon, flag = start_frozen_daemon(
            daemon_factory, tmp_path, mosquitto, notify, source=photos["astronaut"], freeze="camera"
        )
        assert_ready_and_pinging(daemon, notify)
        mark = watcher.mark()
        # The capture thread is stuck in read(); the processing loop still runs, reports the camera
        # degraded, and stops feeding the watchdog once the capture has made no progress for 2x stall_s.
        assert_pings_stop(daemon, notify, flag, within_s=2 * STALL_S + 5)
        assert flag.with_suffix(".frozen").read_text() == "capture"
        degraded = watcher.wait_for(
            "deskpulse/wd/camera", lambda m: m.json()["state"] == "degraded", after=mark
        )
        assert degraded.json()["error"]["kind"] == "no_frames"
    finally:
        watcher.close()
