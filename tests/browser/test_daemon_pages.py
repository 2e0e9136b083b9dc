"""The dashboard driven by the real daemon on real photos: embedded broker and HTTP server, and mosquitto."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DASHBOARD, Pages, page_url
from tests.support import Daemon, Mosquitto, Watcher, free_port, wait_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FAST_POSTURE = {
    "DESKPULSE_POSTURE__AWAY_AFTER_S": "1",
    "DESKPULSE_POSTURE__BAD_AFTER_S": "1",
    "DESKPULSE_POSTURE__GOOD_AFTER_S": "0.5",
}
WORDS = {
    "good": "Good posture",
    "bad": "Bad posture",
    "away": "Away",
    "paused": "Paused",
    "unknown": "Unknown",
}
DAEMON_START_S = 90


def latest_state(watcher: Watcher, node: str) -> dict[str, object]:
    states = watcher.on(f"deskpulse/{node}/state")
    assert states, "the node published no state"
    return dict(json.loads(states[-1].payload))


def wait_for_page_to_match_node(page: Page, watcher: Watcher, node: str) -> str:
    """Wait until the page shows the node's latest published state (same seq), and return its posture."""
    deadline_ms = 20_000
    page.wait_for_function(
        "([node, seq]) => (DeskPulse.store.nodes.get(node)?.state?.seq ?? -1) >= seq",
        arg=[node, latest_state(watcher, node)["seq"]],
        timeout=deadline_ms,
    )
    shown = page.evaluate("node => DeskPulse.store.nodes.get(node).state", node)
    published = watcher.wait_for(
        f"deskpulse/{node}/state", lambda m: m.json()["seq"] == shown["seq"], 10
    ).json()
    assert shown == published
    expect(page.locator(".panel-status .status-word")).to_have_text(WORDS[str(published["posture"])])
    return str(published["posture"])


def test_embedded_server_serves_the_page_that_shows_the_real_daemon_on_a_real_photo(
    pages: Pages,
    tmp_path: Path,
    photos: dict[str, Path],
    daemon_factory: Callable[..., Daemon],
    watcher_factory: Callable[..., Watcher],
) -> None:
    mqtt_port, ws_port, http_port = free_port(), free_port(), free_port()
    daemon_factory(
        "--source", str(photos["astronaut"]), "--loop", "--node-id", "desk1",
        "--data-dir", str(tmp_path / "data"),
        "--mqtt-port", str(mqtt_port), "--ws-port", str(ws_port), "--http-port", str(http_port),
        env=FAST_POSTURE,
    )  # fmt: skip
    wait_port(http_port, DAEMON_START_S)
    watcher = watcher_factory(mqtt_port).wait_connected()
    watcher.wait_for("deskpulse/desk1/state", lambda m: m.json()["present"] is True, timeout=DAEMON_START_S)

    page = pages.open(page_url(http_port, ws_port))
    expect(page.locator("#conn-text")).to_have_text("Connected", timeout=15_000)
    posture = wait_for_page_to_match_node(page, watcher, "desk1")
    assert posture in ("good", "bad")  # a person sits in the astronaut photo
    # amqtt speaks MQTT 3.1.1 only: the page fell back to it.
    assert page.evaluate("DeskPulse.connection.describe().protocolVersion") == 4
    # The embedded broker has no accounts, so the live frame shows to everyone, as a blob.
    image = page.locator(".panel-frame img.frame-img")
    expect(image).to_be_visible(timeout=15_000)
    assert (image.get_attribute("src") or "").startswith("blob:")
    camera = page.locator(".panel", has=page.locator(".panel-title", has_text="Camera"))
    expect(camera.locator(".camera-state")).to_have_text("Camera connected")
    expect(camera.locator(".camera-detail")).to_contain_text("512\N{MULTIPLICATION SIGN}512")
    expect(page.locator(".settings-list")).to_contain_text("Monitoring")
    # No accounts on the embedded broker: any name signs in; MQTT 3.1.1 cannot confirm rights, so the
    # controls show and the node's `…/state` echo is the proof.
    page.locator("#signin-btn").click()
    page.get_by_label("User name").fill("anyone")
    page.get_by_label("Password").fill("anything")
    page.locator("#signin-submit").click()
    expect(page.locator(".settings-note")).to_contain_text("cannot confirm permissions")
    mark = watcher.mark()
    page.get_by_role("radio", name="Low").check()
    watcher.wait_for(
        "deskpulse/desk1/sensitivity/state", lambda m: m.payload == b"low", timeout=10, after=mark
    )
    expect(page.locator("#st-desk1-sensitivity")).to_have_text("Done")


def test_offline_shows_when_the_nodes_last_will_fires(
    pages: Pages,
    tmp_path: Path,
    photos: dict[str, Path],
    daemon_factory: Callable[..., Daemon],
    watcher_factory: Callable[..., Watcher],
) -> None:
    broker = Mosquitto(tmp_path / "mosquitto", extra_config=f"http_dir {DASHBOARD}\n").start()
    try:
        daemon = daemon_factory(
            "--source", str(photos["coffee"]), "--loop", "--node-id", "desk2",
            "--data-dir", str(tmp_path / "data"), "--broker", broker.url,
            env=FAST_POSTURE,
        )  # fmt: skip
        watcher = watcher_factory(broker.port).wait_connected()
        watcher.wait_for(
            "deskpulse/desk2/state", lambda m: m.json()["posture"] == "away", timeout=DAEMON_START_S
        )
        page = pages.open(page_url(broker.ws_port, broker.ws_port, node="desk2"))
        assert wait_for_page_to_match_node(page, watcher, "desk2") == "away"  # nobody in the coffee photo
        expect(page.locator(".panel-status .status-reason")).to_have_text("Nobody at the desk.")

        daemon.kill()  # SIGKILL: no clean goodbye, the broker publishes the node's Last Will
        watcher.wait_for("deskpulse/desk2/availability", lambda m: m.payload == b"offline", timeout=30)
        expect(page.locator(".panel-status .status-word")).to_have_text("Offline", timeout=5_000)
        expect(page.locator(".badge[data-availability]")).to_have_text("Node offline")
        expect(page.locator(".panel-status .status-reason")).to_contain_text("Last seen away")
        expect(page.locator(".panel-frame .frame-placeholder")).to_contain_text("offline")
    finally:
        broker.stop()


def test_the_real_daemons_skeleton_is_drawn_where_its_landmarks_are(
    pages: Pages,
    tmp_path: Path,
    photos: dict[str, Path],
    daemon_factory: Callable[..., Daemon],
    watcher_factory: Callable[..., Watcher],
) -> None:
    """The node's own `pose` (MediaPipe on a real photo) over its own frame, through mosquitto."""
    from tests.browser.test_pose import GEOMETRY

    broker = Mosquitto(tmp_path / "mosquitto", extra_config=f"http_dir {DASHBOARD}\n").start()
    try:
        daemon_factory(
            "--source", str(photos["astronaut"]), "--loop", "--node-id", "desk3",
            "--data-dir", str(tmp_path / "data"), "--broker", broker.url,
            env=FAST_POSTURE,
        )  # fmt: skip
        watcher = watcher_factory(broker.port, ("deskpulse/desk3/#",)).wait_connected()
        watcher.wait_for("deskpulse/desk3/pose", timeout=DAEMON_START_S)
        page = pages.open(page_url(broker.ws_port, broker.ws_port, node="desk3"))
        overlay = page.locator(".panel-frame .pose-overlay")
        expect(overlay).to_have_attribute("data-state", "live", timeout=20_000)
        expect(page.locator(".panel-frame img.frame-img")).to_be_visible(timeout=20_000)
        page.wait_for_function("() => document.querySelector('.panel-frame img.frame-img').naturalWidth > 0")
        shown = page.evaluate("DeskPulse.store.nodes.get('desk3').pose.payload")
        geometry = page.evaluate(GEOMETRY)
        # The pose the page drew came from the node, not from anywhere else.
        sent = [m.json() for m in watcher.on("deskpulse/desk3/pose")]
        assert any(p["ts"] == shown["ts"] and p["points"] == shown["points"] for p in sent)
        assert {"nose", "left_shoulder", "right_shoulder"} <= set(shown["points"])
        tolerance = 1.5 / min(geometry["area"]["width"], geometry["area"]["height"])
        drawn = geometry["points"]
        for name, (x, y, _visibility) in shown["points"].items():
            assert (
                abs(drawn[name]["at"][0] - x) <= tolerance and abs(drawn[name]["at"][1] - y) <= tolerance
            ), name
    finally:
        broker.stop()
