"""The node's guidance on the page: the advice to calibrate a front camera, the reasons it gives for not
judging (a turned picture, the dark), and the camera-rotation control. Real Chromium, real mosquitto serving
the page, a publisher that speaks the node's contract (tests/browser/payloads.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from edge_node.cli.schema import dashboard_contract
from edge_node.vocabulary import ROTATIONS
from tests.browser.conftest import Pages, page_url
from tests.browser.payloads import Publisher
from tests.support import Mosquitto, Watcher

pytestmark = pytest.mark.browser

ADVICE = "Calibrate once for this camera: mild forward head is only judged after calibration."
TURNED = "picture turned: set camera.rotation to 270"
DARK = "too dark to judge"


@pytest.fixture
def commands(web_mosquitto: Mosquitto) -> Iterator[Watcher]:
    """Everything sent to any node's `…/set` topics (the page's commands)."""
    watcher = Watcher(web_mosquitto.port, ("deskpulse/+/+/set",)).wait_connected()
    yield watcher
    watcher.close()


def open_page(pages: Pages, broker: Mosquitto, *nodes: str, **options: Any) -> Page:
    page = pages.open(page_url(broker.ws_port, broker.ws_port, node=",".join(nodes)), **options)
    expect(page.locator("#conn-text")).to_have_text("Connected", timeout=15_000)
    return page


def sign_in_as_control(page: Page) -> None:
    """This broker has no accounts: any name signs in, and MQTT 5's PUBACK grants the controls."""
    page.locator("#signin-btn").click()
    page.get_by_label("User name").fill("anna")
    page.get_by_label("Password").fill("any")
    page.locator("#signin-submit").click()
    expect(page.locator("#user-label")).to_have_text("anna (control)")


def card(page: Page, node: str) -> Any:
    return page.locator(".card", has=page.locator(f'a[href="#/node/{node}"]'))


def test_a_front_camera_without_calibration_is_advised_to_calibrate_with_one_click(
    pages: Pages,
    web_mosquitto: Mosquitto,
    publisher_factory: Callable[..., Publisher],
    node_id: str,
    commands: Watcher,
) -> None:
    front, side = node_id, f"{node_id}-side"
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(front, "good", view="front", calibration_recommended=True)
    publisher.node(side, "good", view="side")
    page = open_page(pages, web_mosquitto, front, side)

    # Read-only: the advice on the node's card, and no button.
    advice = card(page, front).locator(".advice")
    expect(advice).to_be_visible()
    expect(advice.locator(".advice-text")).to_have_text(ADVICE)
    expect(advice.get_by_role("button")).to_be_hidden()
    expect(card(page, side).locator(".advice")).to_be_hidden()

    # A control user calibrates from the card in one click; the page stays on the overview.
    sign_in_as_control(page)
    button = advice.get_by_role("button", name=f"Calibrate {front} now")
    expect(button).to_be_visible()
    mark = commands.mark()
    button.click()
    sent = commands.wait_for(f"deskpulse/{front}/calibrate/set", after=mark)
    assert (sent.payload, sent.retain) == (b"PRESS", False)
    assert commands.on(f"deskpulse/{side}/#") == []
    assert page.evaluate("location.hash") in ("", "#/")
    publisher.setting(front, "calibrate", "calibrating")
    expect(advice.locator(".advice-status")).to_have_text("Calibrating: sit in your usual good posture.")
    expect(button).to_be_disabled()

    # Calibrated: the node stops recommending it, and the line goes.
    publisher.setting(front, "calibrate", "calibrated")
    publisher.state(front, "good", view="front", calibrated=True, calibration_recommended=False)
    expect(advice).to_be_hidden()

    # The full view's status says it too when the node asks again (another camera), with its own button.
    page.locator(f'a[href="#/node/{front}"]').click()
    expect(page.locator(".detail-title")).to_have_text(front)
    status_advice = page.locator(".panel-status .advice")
    expect(status_advice).to_be_hidden()
    publisher.setting(front, "calibrate", "uncalibrated")
    publisher.state(front, "good", view="front", calibration_recommended=True)
    expect(status_advice).to_be_visible()
    expect(status_advice.locator(".advice-text")).to_have_text(ADVICE)
    mark = commands.mark()
    status_advice.get_by_role("button", name=f"Calibrate {front} now").click()
    commands.wait_for(f"deskpulse/{front}/calibrate/set", lambda m: m.payload == b"PRESS", after=mark)

    # Signed out again: the advice stays, the button goes.
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#user-label")).to_have_text("Read-only")
    expect(status_advice).to_be_visible()
    expect(status_advice.get_by_role("button")).to_be_hidden()


@pytest.mark.parametrize("width", [375, 1280])
def test_the_reasons_for_a_turned_camera_and_the_dark_show_in_full(
    pages: Pages,
    web_mosquitto: Mosquitto,
    publisher_factory: Callable[..., Publisher],
    node_id: str,
    width: int,
) -> None:
    turned, dark = node_id, f"{node_id}-dark"
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(turned, "unknown", reason=TURNED, reasons=("rotated",))
    publisher.node(dark, "unknown", reason=DARK, reasons=("too_dark",))
    page = open_page(pages, web_mosquitto, turned, dark, viewport={"width": width, "height": 800})

    expected = {turned: "Picture turned: set camera.rotation to 270", dark: "Too dark to judge"}
    for node, words in expected.items():
        reason = card(page, node).locator(".status-reason")
        expect(reason).to_have_text(words)
        assert_not_cut(page, reason)
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.locator(f'a[href="#/node/{turned}"]').click()
    reason = page.locator(".panel-status .status-reason")
    expect(reason).to_have_text(expected[turned])
    assert_not_cut(page, reason)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def assert_not_cut(page: Page, locator: Any) -> None:
    """All of the text is laid out inside its box, and the box inside the screen: no clipping, no ellipsis."""
    box = locator.evaluate(
        """el => {
          const style = getComputedStyle(el);
          const range = document.createRange();
          range.selectNodeContents(el);
          const text = range.getBoundingClientRect(), own = el.getBoundingClientRect();
          return { overflowX: el.scrollWidth - el.clientWidth, ellipsis: style.textOverflow,
                   clamp: style.webkitLineClamp, textRight: text.right, ownRight: own.right,
                   screen: document.documentElement.clientWidth };
        }"""
    )
    assert box["overflowX"] <= 0, box
    assert box["ellipsis"] != "ellipsis" and box["clamp"] in ("none", ""), box
    assert box["textRight"] <= box["ownRight"] + 0.5 <= box["screen"] + 0.5, box


def test_the_rotation_control_sends_the_chosen_degrees(
    pages: Pages,
    web_mosquitto: Mosquitto,
    publisher_factory: Callable[..., Publisher],
    node_id: str,
    commands: Watcher,
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "good")
    page = open_page(pages, web_mosquitto, node_id)

    # The page's rotations are the node's (contract.js is generated from edge_node.vocabulary).
    rotations = page.evaluate("[...DeskPulse.constants.ROTATIONS]")
    assert rotations == list(ROTATIONS) == dashboard_contract()["rotations"] == [0, 90, 180, 270]

    # Read-only: the value in words.
    row = page.locator(".settings-row", has_text="Camera rotation")
    expect(row).to_contain_text("0° (upright)")
    publisher.setting(node_id, "rotation", "180")
    expect(row).to_contain_text("180° (upside down)")

    sign_in_as_control(page)
    select = page.get_by_label("Camera rotation")
    expect(select).to_have_value("180")
    options = select.locator("option")
    assert options.evaluate_all("os => os.map(o => [o.value, o.textContent])") == [
        ["0", "0° (upright)"],
        ["90", "90° clockwise"],
        ["180", "180° (upside down)"],
        ["270", "270° clockwise"],
    ]

    mark = commands.mark()
    select.select_option("270")
    sent = commands.wait_for(f"deskpulse/{node_id}/rotation/set", after=mark)
    assert (sent.payload, sent.retain) == (b"270", False)
    status = page.locator(f"#st-{node_id}-rotation")
    expect(status).to_have_text("Waiting for the node…")
    expect(select).to_have_value("270")  # the choice shows while it is on its way
    publisher.setting(node_id, "rotation", "270")
    expect(status).to_have_text("Done")
    expect(select).to_have_value("270")

    # By keyboard, like any native select; a node that refuses puts its value back and says why.
    mark = commands.mark()
    select.focus()
    page.keyboard.press("ArrowUp")
    commands.wait_for(f"deskpulse/{node_id}/rotation/set", lambda m: m.payload == b"180", after=mark)
    publisher.event(
        node_id, "command_rejected", "rotation: not now", setting="rotation", payload="180", reason="not now"
    )
    expect(status).to_have_text("The node rejected it: not now")
    expect(select).to_have_value("270")
    assert [m.payload for m in commands.on(f"deskpulse/{node_id}/rotation/set")] == [b"270", b"180"]


def test_the_cpu_budget_is_set_as_a_number_within_the_contracts_bounds(
    pages: Pages, web_mosquitto: Mosquitto, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    """A control user sets the budget in cores; out of bounds it is refused on the page, never sent."""
    from edge_node.vocabulary import CPU_BUDGET_MAX

    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "good")
    commands = Watcher(web_mosquitto.port, (f"deskpulse/{node_id}/cpu_budget/set",)).wait_connected()
    try:
        page = pages.open(page_url(web_mosquitto.ws_port, web_mosquitto.ws_port, node=node_id))
        page.locator("#signin-btn").click()
        page.get_by_label("User name").fill("anna")
        page.get_by_label("Password").fill("any")
        page.locator("#signin-submit").click()
        field = page.get_by_label("CPU budget (cores)")
        expect(field).to_have_value("0.25")  # the node's cpu_budget/state
        field.fill(str(CPU_BUDGET_MAX + 1))
        field.press("Enter")
        expect(page.locator(f"#st-{node_id}-cpu_budget")).to_contain_text("Enter cores from")
        field.fill("0.5")
        field.press("Enter")
        sent = commands.wait_for(f"deskpulse/{node_id}/cpu_budget/set", timeout=10)
        assert sent.payload == b"0.5"
        assert len(commands.on(f"deskpulse/{node_id}/cpu_budget/set")) == 1  # the refused value never left
    finally:
        commands.close()
