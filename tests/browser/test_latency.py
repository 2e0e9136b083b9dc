"""Posture-state latency in the browser while frames flow, on mosquitto 2.0.11's WebSockets listener.

Prints (does not assert a budget) publish → the page has the message, p50/p95, for posture states and for
frames, with frames on their own connection (the dashboard's design) and sharing the state connection
(`?frames=shared`), at the node's default frame size and rate and at a heavier stream, and with no frames.
mosquitto 2.0.11 writes about 4 KiB per WebSocket per 100 ms service pass, and what is queued behind a
large message on the same connection waits too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DASHBOARD, Pages, page_url
from tests.browser.payloads import Publisher
from tests.secure_broker import secure_mosquitto
from tests.support import Mosquitto

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STATES = 60
STATE_INTERVAL_S = 0.1
WARM_UP_S = 1.0


@dataclass(frozen=True)
class Scenario:
    name: str
    frames: str  # "separate" (the design) or "shared" (?frames=shared)
    frame_bytes: int  # 0: no frames
    frame_interval_s: float


SCENARIOS = (
    Scenario("node default, own connection", "separate", 38_000, 1.0),
    Scenario("node default, shared", "shared", 38_000, 1.0),
    Scenario("15 KiB at 4 fps, own connection", "separate", 15 * 1024, 0.25),
    Scenario("15 KiB at 4 fps, shared", "shared", 15 * 1024, 0.25),
    Scenario("no frames", "separate", 0, 1.0),
)


@dataclass
class Measured:
    state_ms: list[float]
    frame_ms: list[float]
    frames_sent: int
    frame_bytes: int


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    instance = Mosquitto(tmp_path_factory.mktemp("latency"), extra_config=f"http_dir {DASHBOARD}\n").start()
    yield instance
    instance.stop()


def frame_of_size(photo: Path, target: int) -> bytes:
    """A real JPEG of the photo at about `target` bytes (at most), as the node would send."""
    import cv2

    image = cv2.resize(cv2.imread(str(photo)), (640, 640))
    best = b""
    for quality in range(95, 5, -5):
        ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        best = bytes(buffer.tobytes())
        if len(best) <= target:
            break
    return best


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(page: Page, publisher: Publisher, node: str, frame: bytes | None, interval_s: float) -> Measured:
    """Publish STATES states while frames flow (when given); collect what the page measured."""
    stop = threading.Event()
    sent_at: list[float] = []

    def send_frames() -> None:
        while frame is not None and not stop.is_set():
            sent_at.append(time.time())
            publisher.frame(node, frame)
            stop.wait(interval_s)

    page.evaluate("DeskPulse.store.diagnostics.stateDelaysMs.length = 0")
    page.evaluate("DeskPulse.store.diagnostics.frameArrivals.length = 0")
    sender = threading.Thread(target=send_frames, name="frames", daemon=True)
    sender.start()
    try:
        time.sleep(WARM_UP_S)
        for number in range(STATES):
            publisher.state(node, "bad" if number % 2 else "good")
            time.sleep(STATE_INTERVAL_S)
    finally:
        stop.set()
        sender.join(5)
    page.wait_for_function(f"DeskPulse.store.diagnostics.stateDelaysMs.length >= {STATES}", timeout=15_000)
    if frame is not None:  # the frames still on their way
        page.wait_for_function(
            f"DeskPulse.store.diagnostics.frameArrivals.length >= {len(sent_at)}", timeout=30_000
        )
    arrivals = page.evaluate("DeskPulse.store.diagnostics.frameArrivals.slice()")
    return Measured(
        state_ms=page.evaluate("DeskPulse.store.diagnostics.stateDelaysMs.slice()"),
        frame_ms=[(got - sent) * 1000 for got, sent in zip(arrivals, sent_at, strict=False)],
        frames_sent=len(sent_at),
        frame_bytes=len(frame or b""),
    )


def test_posture_state_latency_in_the_browser_while_frames_flow(
    pages: Pages,
    broker: Mosquitto,
    photos: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    publisher = Publisher(broker.port)
    results: dict[str, Measured] = {}
    try:
        for number, scenario in enumerate(SCENARIOS):
            node = f"lat{number}"
            publisher.node(node, "good")
            frame = frame_of_size(photos["astronaut"], scenario.frame_bytes) if scenario.frame_bytes else None
            params = {"node": node} | ({"frames": "shared"} if scenario.frames == "shared" else {})
            page = pages.open(page_url(broker.ws_port, broker.ws_port, **params))
            expect(page.locator("#conn-text")).to_have_text("Connected", timeout=15_000)
            page.wait_for_function("DeskPulse.connection.framesStatus.state === 'connected'")
            results[scenario.name] = measure(page, publisher, node, frame, scenario.frame_interval_s)
            page.close()
    finally:
        publisher.close()

    with capsys.disabled():
        print(f"\npublish → page (ms), mosquitto 2.0.11 WebSockets, {STATES} posture states at 10 Hz")
        print(f"  {'frames':<42} {'state p50':>9} {'p95':>7} {'max':>7}   {'frame p50':>9} {'p95':>7}")
        for name, m in results.items():
            frames = (
                f"{percentile(m.frame_ms, 0.5):9.0f} {percentile(m.frame_ms, 0.95):7.0f}"
                if m.frame_ms
                else ""
            )
            label = f"{name} ({m.frame_bytes} B)" if m.frame_bytes else name
            print(
                f"  {label:<42} {percentile(m.state_ms, 0.5):9.1f} {percentile(m.state_ms, 0.95):7.1f} "
                f"{max(m.state_ms):7.1f}   {frames}"
            )
    for name, m in results.items():
        assert len(m.state_ms) == STATES, name  # every state arrived
        assert all(delay > -50 for delay in m.state_ms), name  # one clock: nothing arrives before it was sent
        if m.frame_bytes:
            assert m.frames_sent >= 5, name
            assert len(m.frame_ms) == m.frames_sent, f"{name}: frames lost"


POSES = 50
POSE_INTERVAL_S = 0.2  # the node publishes `pose` at most at 5 Hz


def test_pose_latency_through_the_repositorys_mosquitto_conf_while_frames_flow(
    pages: Pages, photos: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`pose` publish → the page has it, on the state connection, with the node's default frames flowing to a
    signed-in viewer on the frames connection, through the repository's mosquitto.conf and broker/acl."""
    node = "desk1"
    with secure_mosquitto(nodes=(node,)) as secured:
        publisher = Publisher(secured.port, username=node, password=secured.users[node].password)
        try:
            publisher.node(node, "bad")
            page = pages.open(page_url(secured.ws_port, secured.ws_port, node=node))
            expect(page.locator("#conn-text")).to_have_text("Connected", timeout=15_000)
            page.locator("#signin-btn").click()
            page.get_by_label("User name").fill("viewer")
            page.get_by_label("Password").fill(secured.viewer.password)
            page.locator("#signin-submit").click()
            expect(page.locator("#user-label")).to_have_text("viewer (viewer)", timeout=15_000)
            page.wait_for_function("DeskPulse.connection.framesStatus.state === 'connected'")
            frame = frame_of_size(photos["astronaut"], 38_000)
            stop = threading.Event()
            frames_sent: list[float] = []

            def send_frames() -> None:
                while not stop.is_set():
                    frames_sent.append(time.time())
                    publisher.frame(node, frame)
                    stop.wait(1.0)

            sender = threading.Thread(target=send_frames, name="frames", daemon=True)
            sender.start()
            try:
                page.wait_for_function(
                    "DeskPulse.store.diagnostics.frameArrivals.length >= 1", timeout=15_000
                )
                time.sleep(WARM_UP_S)
                page.evaluate("DeskPulse.store.diagnostics.poseDelaysMs.length = 0")
                for _ in range(POSES):
                    publisher.pose(node, "bad")
                    time.sleep(POSE_INTERVAL_S)
            finally:
                stop.set()
                sender.join(5)
            page.wait_for_function(
                f"DeskPulse.store.diagnostics.poseDelaysMs.length >= {POSES}", timeout=15_000
            )
            pose_ms: list[float] = page.evaluate("DeskPulse.store.diagnostics.poseDelaysMs.slice()")
            frames_received = page.evaluate("DeskPulse.store.diagnostics.frameArrivals.length")
        finally:
            publisher.close()

    with capsys.disabled():
        print(
            f"\npose publish → page (ms), repository mosquitto.conf, {POSES} poses at 5 Hz, "
            f"{len(frame)} B frames at 1 fps to a signed-in viewer ({frames_received} received): "
            f"p50 {percentile(pose_ms, 0.5):.1f}, p95 {percentile(pose_ms, 0.95):.1f}, max {max(pose_ms):.1f}"
        )
    assert len(pose_ms) == POSES  # every pose arrived
    assert all(delay > -50 for delay in pose_ms)  # one clock: nothing arrives before it was sent
    assert frames_received >= 5  # frames really flowed meanwhile
