"""The dashboard in real headless Chromium, served by mosquitto's http_dir, fed by a publisher that speaks the
node's contract (payloads built by edge_node.payloads). The real daemon drives it in test_daemon_pages.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from edge_node.payloads import CameraError
from edge_node.vocabulary import Posture
from tests.browser.conftest import DASHBOARD, Pages, jpeg_of, page_url
from tests.browser.payloads import Publisher
from tests.support import Mosquitto

pytestmark = pytest.mark.browser

STATUS_WORD = ".panel-status .status-word"
STATUS_REASON = ".panel-status .status-reason"
CONNECTION = "#conn-text"
UPDATE_BUDGET_MS = 1000


def open_dashboard(pages: Pages, broker: Mosquitto, *nodes: str, **options: Any) -> Page:
    params = {"node": ",".join(nodes)} if nodes else {}
    page = pages.open(page_url(broker.ws_port, broker.ws_port, **params), **options)
    expect(page.locator(CONNECTION)).to_have_text("Connected", timeout=15_000)
    return page


def test_page_from_mosquitto_http_dir_shows_the_retained_state_on_load(
    pages: Pages, web_mosquitto: Mosquitto, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "bad", reason="forward head, slouch", name="Anna's desk")
    requests: list[str] = []
    context = pages.context()
    context.on("request", lambda request: requests.append(request.url))
    page = open_dashboard(pages, web_mosquitto, node_id, context=context)

    expect(page.locator(STATUS_WORD)).to_have_text("Bad posture")
    expect(page.locator(STATUS_REASON)).to_have_text("Forward head, slouch")
    expect(page.locator(".detail-title")).to_have_text("Anna's desk")
    status = page.locator(".panel-status .status")
    expect(status).to_have_attribute("data-posture", "bad")
    assert page.locator(".panel-status .status-icon use").get_attribute("href") == "#i-bad"
    expect(page.locator(".panel-status .status-since")).to_contain_text("for ")
    expect(page.locator(".badge[data-availability]")).to_have_text("Node online")
    # Everything came from the broker's http_dir (MQTT.js included) and its WebSocket: no CDN, no server.
    # (MQTT.js runs its keep-alive timer in a worker made from a same-origin blob: URL.)
    origin = f"http://127.0.0.1:{web_mosquitto.ws_port}/"
    assert any(url.endswith("/node_modules/mqtt/dist/mqtt.min.js") for url in requests)
    assert [url for url in requests if not url.startswith((origin, f"blob:{origin}", "data:"))] == []
    assert page.evaluate("DeskPulse.connection.describe().protocolVersion") == 5


def test_a_posture_update_appears_within_one_second(
    pages: Pages, web_mosquitto: Mosquitto, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "good")
    page = open_dashboard(pages, web_mosquitto, node_id)
    expect(page.locator(STATUS_WORD)).to_have_text("Good posture")
    took_ms = []
    for posture, word in [
        ("bad", "Bad posture"),
        ("away", "Away"),
        ("good", "Good posture"),
        ("paused", "Paused"),
    ]:
        started = time.monotonic()
        publisher.state(node_id, posture)  # type: ignore[arg-type]
        page.wait_for_function(
            "word => document.querySelector('.panel-status .status-word').textContent === word",
            arg=word,
            polling="raf",
            timeout=UPDATE_BUDGET_MS,
        )
        took_ms.append((time.monotonic() - started) * 1000)
    print(f"\npublish -> shown on the page: {', '.join(f'{ms:.0f}' for ms in took_ms)} ms")
    expect(page.locator("#announcer")).to_contain_text("Paused")


def test_frame_is_a_blob_url_revoked_after_load_with_no_layout_shift(
    pages: Pages,
    web_mosquitto: Mosquitto,
    publisher_factory: Callable[..., Publisher],
    node_id: str,
    photos: dict[str, Path],
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "good")
    page = open_dashboard(pages, web_mosquitto, node_id)
    placeholder = page.locator(".panel-frame .frame-placeholder")
    expect(placeholder).to_be_visible()
    boxes_before = [
        page.locator(s).bounding_box() for s in (".panel-frame", ".detail-main > .panel:last-child")
    ]

    jpeg = jpeg_of(photos["astronaut"])
    publisher.frame(node_id, jpeg)
    image = page.locator(".panel-frame img.frame-img")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('.panel-frame img.frame-img').naturalWidth > 0")
    src = image.get_attribute("src") or ""
    assert src.startswith("blob:"), src
    assert page.evaluate("document.body.innerHTML.includes('base64')") is False
    # Revoked once loaded: the blob URL no longer resolves.
    assert page.evaluate("src => fetch(src).then(() => 'alive', () => 'revoked')", src) == "revoked"
    assert page.evaluate("() => document.querySelector('.panel-frame img.frame-img').naturalWidth") == 640
    boxes_after = [
        page.locator(s).bounding_box() for s in (".panel-frame", ".detail-main > .panel:last-child")
    ]
    assert boxes_after == boxes_before  # the fixed 16:9 box: nothing moved when the picture arrived

    # A newer frame replaces it (a new blob URL); a malformed one is reported and changes nothing.
    publisher.frame(node_id, jpeg_of(photos["rocket"]))
    page.wait_for_function("old => document.querySelector('.panel-frame img.frame-img').src !== old", arg=src)
    publisher.frame(node_id, b"definitely not a jpeg")
    page.wait_for_function("() => DeskPulse.store.diagnostics.malformed >= 1")
    expect(image).to_be_visible()

    # Frames turned off on the node: an empty retained frame and frames/state OFF hide it, with the reason.
    publisher.setting(node_id, "frames", "OFF")
    publisher.frame(node_id, b"")
    expect(image).to_be_hidden()
    expect(placeholder).to_contain_text("turned off")
    publisher.setting(node_id, "frames", "ON")
    publisher.frame(node_id, jpeg)
    expect(image).to_be_visible()
    # The node goes offline: no live picture, whatever the broker still retains.
    publisher.availability(node_id, "offline")
    expect(image).to_be_hidden()
    expect(placeholder).to_contain_text("offline")
    expect(page.locator(STATUS_WORD)).to_have_text("Offline")


def test_stale_when_heartbeats_stop_and_panels_without_topics_say_not_available(
    pages: Pages, web_mosquitto: Mosquitto, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    publisher.availability(node_id, "online")
    publisher.state(node_id, "good", ts=time.time() - 300)  # the last heartbeat, five minutes ago
    page = open_dashboard(pages, web_mosquitto, node_id)
    expect(page.locator(".panel-status .status-updated")).to_have_text("Stale: last update 5 min ago")
    expect(page.locator(".panel-status .badge")).to_have_text("Stale")
    for title in ("Today", "Last 7 days", "Camera"):
        panel = page.locator(".panel", has=page.locator(".panel-title", has_text=title))
        expect(panel).to_contain_text("Not available yet")
    expect(page.locator(".settings-list")).to_contain_text("not available")

    publisher.camera(
        node_id,
        "disconnected",
        error=CameraError(
            kind="busy",
            message="/dev/video0 is in use by another program",
            hint="Another program holds the camera (a video call?). Close it.",
        ),
    )
    camera = page.locator(".panel", has=page.locator(".panel-title", has_text="Camera"))
    expect(camera.locator(".camera-state")).to_have_text("Camera disconnected")
    expect(camera.locator(".camera-error")).to_contain_text(
        "/dev/video0 is in use by another program. Next try in"
    )
    expect(camera.locator(".camera-hint")).to_have_text(
        "How to fix: Another program holds the camera (a video call?). Close it."
    )
    publisher.camera(node_id, "connected")
    expect(camera.locator(".camera-hint")).to_be_hidden()

    publisher.state(node_id, "bad", reason="slouch")
    expect(page.locator(".panel-status .status-updated")).to_have_text("Updated just now")
    expect(page.locator(".panel-status .badge")).to_be_hidden()
    publisher.stats(node_id, good_s=3 * 3600, bad_s=45 * 60, away_s=20 * 60, alerts=2)
    days = [(f"2026-01-{d:02d}", 3600.0 * d / 2, 600.0 * (8 - d), 300.0) for d in range(1, 8)]
    publisher.history(node_id, days, trend="improving")
    today = page.locator(".panel", has=page.locator(".panel-title", has_text="Today"))
    expect(today.locator(".today-score")).to_have_text("Score 80 %")
    expect(today.locator(".tile", has_text="Good")).to_contain_text("3 h")
    expect(today.locator(".tile", has_text="Bad")).to_contain_text("45 min")
    expect(today.locator(".tile", has_text="Alerts")).to_contain_text("2")
    rows = page.locator(".history-row")
    expect(rows).to_have_count(7)
    expect(page.locator(".history-trend")).to_contain_text("Improving")
    expect(rows.last).to_have_attribute(
        "aria-label", "Wed, Jan 7: 3 h 30 min good, 10 min bad, 5 min away, score 96 %"
    )


def test_nodes_appear_and_disappear_as_retained_topics_come_and_go(
    pages: Pages,
    web_mosquitto: Mosquitto,
    publisher_factory: Callable[..., Publisher],
    node_id: str,
    photos: dict[str, Path],
) -> None:
    first, second = f"{node_id}a", f"{node_id}b"
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(first, "good")
    page = open_dashboard(pages, web_mosquitto, first, second)
    # One node: its full view at once.
    expect(page.locator(".detail-title")).to_have_text(first)
    publisher.node(second, "bad", reason="lean")
    cards = page.locator(".grid .card")
    expect(cards).to_have_count(2)
    expect(cards.nth(1)).to_contain_text("Bad posture")
    expect(cards.nth(1)).to_have_attribute("data-posture", "bad")
    # The overview receives no pictures at all (frames flow only for the node in the full view).
    publisher.frame(second, jpeg_of(photos["astronaut"]))
    publisher.state(first, "bad")  # a marker behind the frame on the same publisher connection
    expect(cards.nth(0)).to_have_attribute("data-posture", "bad")
    assert page.evaluate("DeskPulse.connection.describe().frameNodes") == []
    assert page.evaluate("DeskPulse.store.diagnostics.counts.frame || 0") == 0
    # A card opens the full view, by keyboard too; its retained frame arrives then.
    cards.nth(1).locator("a").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{page.url.split('#')[0]}#/node/{second}")
    expect(page.locator(".detail-title")).to_have_text(second)
    expect(page.locator(STATUS_REASON)).to_have_text("Lean")
    assert page.evaluate("DeskPulse.connection.describe().frameNodes") == [second]
    expect(page.locator(".panel-frame img.frame-img")).to_be_visible()
    page.locator("#back").click()
    expect(cards).to_have_count(2)
    assert page.evaluate(f"DeskPulse.store.nodes.get('{second}').frame") is None  # forgotten with the focus
    # Clearing a node's retained topics removes it.
    publisher.forget(second)
    expect(cards).to_have_count(0)
    expect(page.locator(".detail-title")).to_have_text(first)
    publisher.forget(first)
    expect(page.locator("#empty-title")).to_have_text("Waiting for DeskPulse nodes")


def test_all_nodes_show_without_a_filter(
    pages: Pages, web_mosquitto: Mosquitto, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    for suffix, posture in (("x", "good"), ("y", "away"), ("z", "unknown")):
        publisher.node(f"{node_id}{suffix}", posture)  # type: ignore[arg-type]
    page = open_dashboard(pages, web_mosquitto)
    for suffix, word in (("x", "Good posture"), ("y", "Away"), ("z", "Unknown")):
        card = page.locator(".card", has=page.locator(".card-title", has_text=f"{node_id}{suffix}"))
        expect(card.locator(".status-word")).to_have_text(word)
    for suffix in "xyz":
        publisher.forget(f"{node_id}{suffix}")


NOTIFICATION_SPY = """
(() => {
  window.__notes = [];
  window.__permissionRequests = 0;
  const Real = window.Notification;
  window.Notification = new Proxy(Real, {
    construct(target, args) {
      window.__notes.push({ title: args[0], body: (args[1] || {}).body });
      return new target(...args);
    },
    get(target, prop) {
      if (prop === "requestPermission") {
        return () => { window.__permissionRequests += 1; return Real.requestPermission(); };
      }
      return Reflect.get(target, prop);
    },
  });
})();
"""


def test_alert_banner_and_notification_with_permission_asked_only_on_click(
    pages: Pages, web_mosquitto: Mosquitto, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "bad", reason="forward head")

    # Without permission: nothing is asked on load; the button asks on click.
    asking = pages.context()
    asking.add_init_script(NOTIFICATION_SPY)
    page = open_dashboard(pages, web_mosquitto, node_id, context=asking)
    button = page.locator("#notify-btn")
    expect(button).to_have_text("Enable desktop alerts")
    assert page.evaluate("window.__permissionRequests") == 0
    button.click()
    page.wait_for_function("window.__permissionRequests === 1")

    # With permission granted: a posture_alert shows the banner and a desktop notification.
    granted = pages.context()
    granted.grant_permissions(["notifications"])
    granted.add_init_script(NOTIFICATION_SPY)
    page = open_dashboard(pages, web_mosquitto, node_id, context=granted)
    expect(page.locator("#notify-btn")).to_have_text("Desktop alerts on")
    publisher.event(
        node_id, "posture_alert", "bad posture for 10 min: time to sit up or take a break", bad_s=600.0
    )
    banner = page.locator(".alert-banner")
    expect(banner).to_contain_text("Bad posture for 10 min: time to sit up or take a break")
    page.wait_for_function("window.__notes.length === 1")
    note = page.evaluate("window.__notes[0]")
    assert note["title"] == f"{node_id}: sit up"
    assert "bad posture for 10 min" in note["body"].lower()
    expect(page.locator(".activity-item").first).to_contain_text("Alert")
    # Corrected: the banner goes; a new alert can be dismissed from the keyboard.
    publisher.event(node_id, "posture_corrected", "posture corrected after 10 min of bad posture")
    expect(banner).to_have_count(0)
    publisher.event(node_id, "posture_alert", "bad posture for 15 min", bad_s=900.0)
    expect(banner).to_have_count(1)
    page.get_by_role("button", name=f"Dismiss the alert for {node_id}").focus()
    page.keyboard.press("Enter")
    expect(banner).to_have_count(0)
    # The daily summary has its handler: it reaches the activity list and a notification.
    publisher.event(node_id, "daily_summary", "2026-01-07: 82.0 % good posture", score=82.0)
    expect(page.locator(".activity-item").first).to_contain_text("Daily summary")
    page.wait_for_function("window.__notes.length === 3")


def test_reconnecting_while_the_broker_is_down_then_recovers_and_resubscribes(
    pages: Pages, tmp_path: Path, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    broker = Mosquitto(tmp_path / "mosquitto", extra_config=f"http_dir {DASHBOARD}\n").start()
    try:
        publisher_factory(broker.port).node(node_id, "good")
        page = open_dashboard(pages, broker, node_id)
        expect(page.locator(STATUS_WORD)).to_have_text("Good posture")
        broker.stop()
        expect(page.locator(CONNECTION)).to_have_text("Reconnecting…", timeout=10_000)
        expect(page.locator("#stale-notice")).to_contain_text("showing the last known state")
        expect(page.locator(STATUS_WORD)).to_have_text("Good posture")  # the last known state stays visible
        time.sleep(1.5)
        broker.start()
        expect(page.locator(CONNECTION)).to_have_text("Connected", timeout=15_000)
        # Resubscribed: a state published after the restart arrives (the old broker kept nothing).
        publisher_factory(broker.port).node(node_id, "bad", reason="tilt")
        expect(page.locator(STATUS_WORD)).to_have_text("Bad posture", timeout=5_000)
        expect(page.locator("#stale-notice")).to_be_hidden()
    finally:
        broker.stop()


def test_connection_error_while_the_broker_is_unreachable_then_connects_when_it_starts(
    pages: Pages,
    tmp_path: Path,
    web_mosquitto: Mosquitto,
    publisher_factory: Callable[..., Publisher],
    node_id: str,
) -> None:
    broker = Mosquitto(tmp_path / "late", extra_config=f"http_dir {DASHBOARD}\n")
    # The page comes from another broker's http_dir; the broker it should use is not running yet.
    page = pages.open(page_url(web_mosquitto.ws_port, broker.ws_port, node=node_id))
    expect(page.locator(CONNECTION)).to_have_text("Connection error", timeout=15_000)
    expect(page.locator("#empty-title")).to_have_text("Cannot connect to the broker")
    expect(page.locator("#empty-text")).to_contain_text(f"Cannot reach ws://127.0.0.1:{broker.ws_port}")
    broker.start()
    try:
        publisher_factory(broker.port).node(node_id, "good")
        expect(page.locator(CONNECTION)).to_have_text("Connected", timeout=15_000)
        expect(page.locator(STATUS_WORD)).to_have_text("Good posture")
    finally:
        broker.stop()


def test_twenty_tabs_all_receive_the_same_updates(
    pages: Pages, web_mosquitto: Mosquitto, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "good")
    context = pages.context(viewport={"width": 800, "height": 600})
    url = page_url(web_mosquitto.ws_port, web_mosquitto.ws_port, node=node_id)
    tabs = [pages.open(url, context=context) for _ in range(20)]
    for tab in tabs:
        expect(tab.locator(CONNECTION)).to_have_text("Connected", timeout=20_000)
        tab.wait_for_function("() => DeskPulse.store.nodes.size === 1")
    postures: tuple[Posture, ...] = ("bad", "good", "away", "bad", "unknown")
    sent = [publisher.state(node_id, posture).seq for posture in postures]
    for number, tab in enumerate(tabs):
        tab.wait_for_function(
            "last => DeskPulse.store.diagnostics.liveStates.some(s => s.seq === last)",
            arg=sent[-1],
            timeout=10_000,
        )
        seen = tab.evaluate("DeskPulse.store.diagnostics.liveStates.map(s => s.seq)")
        assert seen == sent, f"tab {number} saw {seen}, expected {sent}"
        tab.bring_to_front()
        expect(tab.locator(STATUS_WORD)).to_have_text("Unknown")


def test_bad_page_parameters_and_malformed_messages_get_a_clear_message_and_change_nothing(
    pages: Pages, web_mosquitto: Mosquitto, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    port = web_mosquitto.ws_port
    page = pages.open(f"http://127.0.0.1:{port}/?broker=http://example.invalid")
    expect(page.locator("#problems")).to_contain_text(
        "broker=http://example.invalid is not a ws:// or wss:// address"
    )
    expect(page.locator("#empty-title")).to_have_text("The page address needs fixing")
    assert page.evaluate("DeskPulse.connection.stateLink") is None  # it did not connect anywhere

    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "good", reason=None)
    page = pages.open(page_url(port, port, node=f"{node_id},Not A Node!"))
    expect(page.locator("#problems")).to_contain_text("node=Not A Node! is not a node id")
    expect(page.locator(STATUS_WORD)).to_have_text("Good posture")
    for topic, payload in (
        (f"deskpulse/{node_id}/state", b"{not json"),
        (f"deskpulse/{node_id}/state", b'{"v": 1, "node": "x"}'),
        (f"deskpulse/{node_id}/stats", b"[1, 2, 3]"),
        (f"deskpulse/{node_id}/camera", "\u00ff\u00fe".encode("latin-1")),
    ):
        publisher.raw(topic, payload, retain=False)
    page.wait_for_function("() => DeskPulse.store.diagnostics.malformed >= 4")
    expect(page.locator(STATUS_WORD)).to_have_text("Good posture")
    assert page.evaluate("id => DeskPulse.store.nodes.get(id).stats", node_id) is None
    publisher.state(node_id, "bad")
    expect(page.locator(STATUS_WORD)).to_have_text("Bad posture")


CONTRAST = """
selectors => {
  // rgb()/rgba(), or color(srgb r g b / a) with channels from 0 to 1 (what color-mix() computes to).
  const parse = (c) => {
    const n = c.match(/[\\d.]+/g).map(Number);
    return c.startsWith("color(srgb") ? [n[0] * 255, n[1] * 255, n[2] * 255, n.length > 3 ? n[3] : 1] : n;
  };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = getComputedStyle(node).backgroundColor;
      const parts = parse(c);
      if (parts.length < 4 || parts[3] > 0.9) return parts.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return selectors.map((selector) => {
    const el = document.querySelector(selector);
    if (!el) return [selector, null];
    const a = lum(parse(getComputedStyle(el).color)), b = lum(background(el));
    return [selector, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  });
}
"""

TEXT_SELECTORS = [
    ".panel-status .status-reason",
    ".panel-status .status-meta",
    ".panel-title",
    ".settings-row dt",
    ".settings-row dd",
    ".quiet",
    "#conn-text",
    "#user-label",
    ".history-day",
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_width_keyboard_labels_and_contrast(
    pages: Pages,
    web_mosquitto: Mosquitto,
    publisher_factory: Callable[..., Publisher],
    node_id: str,
    scheme: str,
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "bad", reason="forward head")
    publisher.history(node_id, [("2026-01-01", 3600.0, 600.0, 60.0)])
    page = open_dashboard(
        pages, web_mosquitto, node_id, viewport={"width": 375, "height": 740}, color_scheme=scheme
    )
    expect(page.locator(STATUS_WORD)).to_have_text("Bad posture")
    # Usable on a 375 px phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator(STATUS_WORD).bounding_box()["height"] >= 30  # type: ignore[index]  # readable from across a desk
    # Text contrast: 4.5:1 for text, 3:1 for the large posture word (WCAG AA).
    ratios = dict(page.evaluate(CONTRAST, TEXT_SELECTORS))
    low = {
        selector: round(ratio, 2) for selector, ratio in ratios.items() if ratio is not None and ratio < 4.5
    }
    assert not low, f"text below 4.5:1 in {scheme}: {low}"
    ((_, word_ratio),) = page.evaluate(CONTRAST, [STATUS_WORD])
    assert word_ratio >= 3.0
    # Keyboard: Tab reaches the sign-in button; the dialog's fields have labels and Escape closes it.
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "signin-btn":
            break
    assert page.evaluate("document.activeElement.id") == "signin-btn"
    page.keyboard.press("Enter")
    expect(page.get_by_label("User name")).to_be_focused()
    expect(page.get_by_label("Password")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#signin-dialog")).to_be_hidden()


def test_settings_the_page_has_no_control_for_are_listed_and_break_nothing(
    pages: Pages, web_mosquitto: Mosquitto, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    """A later contract.js (generated from the node's models) may add settings: listed, no control."""
    contract = (DASHBOARD / "js" / "contract.js").read_text()
    later = contract.replace('"calibrate"]', '"calibrate", "night_mode"]')
    assert later != contract
    known = ("monitoring", "frames", "alert_minutes", "sensitivity", "rotation", "cpu_budget", "calibrate")
    context = pages.context()
    context.route("**/js/contract.js", lambda route: route.fulfill(body=later, content_type="text/plain"))
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "good")
    publisher.setting(node_id, "rotation", "90")
    page = open_dashboard(pages, web_mosquitto, node_id, context=context)
    settings = page.evaluate("[...DeskPulse.constants.SETTINGS]")
    assert "night_mode" in settings
    unknown = [name for name in settings if name not in known]  # night_mode, and any the node added since
    rows = page.locator(".settings-row")
    expect(rows).to_have_count(len(settings))
    expect(rows.filter(has_text="Camera rotation")).to_contain_text("90° clockwise")
    expect(rows.filter(has_text="Night mode")).to_contain_text("not available")
    # A control user gets a control for each setting the page knows, and none for the others.
    page.locator("#signin-btn").click()
    page.get_by_label("User name").fill("anna")
    page.get_by_label("Password").fill("any")
    page.locator("#signin-submit").click()
    expect(page.locator("#user-label")).to_have_text("anna (control)")
    expect(page.get_by_role("switch")).to_have_count(2)
    expect(page.locator(".controls .control-row")).to_have_count(len(known))
    for name in unknown:
        expect(page.locator(".controls")).not_to_contain_text(name.replace("_", " ").capitalize())
    publisher.raw(f"deskpulse/{node_id}/night_mode/state", "ON")
    expect(rows.filter(has_text="Night mode")).to_contain_text("ON")
    publisher.state(node_id, "bad")
    expect(page.locator(STATUS_WORD)).to_have_text("Bad posture")
