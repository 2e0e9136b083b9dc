"""The node's skeleton (`pose`) in real headless Chromium.

Drawn over the live picture where the landmarks are; alone on a neutral stage where the viewer may not see
the picture (anonymous viewers of the repository's secured mosquitto.conf); faded and gone once poses stop;
malformed poses ignored without breaking the page. Payloads come from tests/browser/payloads.pose(), and a
real paho client publishes them as the node would."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Pages, jpeg_of, page_url
from tests.browser.payloads import ASTRONAUT, Publisher, pose, pose_line
from tests.secure_broker import SecureBroker, secure_mosquitto
from tests.support import Mosquitto

pytestmark = pytest.mark.browser

OVERLAY = ".panel-frame .pose-overlay"
FRAME = ".panel-frame img.frame-img"
POSE_INTERVAL_S = 0.2  # the node publishes at most 5 Hz
ASTRONAUT_LINES = (
    pose_line("shoulder_tilt", "shoulder_tilt_deg", (0.22, 0.469), (0.598, 0.501), value=12.4, limit=10.0),
    pose_line("head_tilt", "head_tilt_deg", (0.372, 0.21), (0.523, 0.24), value=3.0, limit=10.0),
    pose_line(
        "head_height", "head_height_ratio", (0.409, 0.485), (0.435, 0.25), value=0.31, limit=0.35, op="<"
    ),
)
FRONT = {"view": "front", "aspect": 1.0, "points": ASTRONAUT, "lines": ASTRONAUT_LINES}


@contextmanager
def pose_stream(
    publisher: Publisher, node: str, posture: str = "bad", **fields: Any
) -> Iterator[list[float]]:
    """Publish poses at 5 Hz in the background, as a node does while someone is in view; yields send times."""
    stop = threading.Event()
    sent: list[float] = []

    def run() -> None:
        while not stop.is_set():
            sent.append(time.time())
            publisher.pose(node, posture, **fields)  # type: ignore[arg-type]
            stop.wait(POSE_INTERVAL_S)

    thread = threading.Thread(target=run, name="poses", daemon=True)
    thread.start()
    try:
        yield sent
    finally:
        stop.set()
        thread.join(5)


def open_node(pages: Pages, ws_port: int, node: str, **options: Any) -> Page:
    page = pages.open(page_url(ws_port, ws_port, node=node), **options)
    expect(page.locator("#conn-text")).to_have_text("Connected", timeout=15_000)
    return page


# Where each drawn landmark and measured line is on the screen, against where the picture (object-fit:
# contain in its box) shows that spot of the photo. Picture-relative x, y in 0..1, both in CSS pixels.
GEOMETRY = """
() => {
  const box = document.querySelector('.panel-frame .frame-box').getBoundingClientRect();
  const img = document.querySelector('.panel-frame img.frame-img');
  const svg = document.querySelector('.panel-frame .pose-overlay');
  const stage = svg.querySelector('.pose-stage');
  let area;
  if (img.naturalWidth && !img.hidden) {
    const r = img.getBoundingClientRect();
    const scale = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
    const w = img.naturalWidth * scale, h = img.naturalHeight * scale;
    area = { left: r.left + (r.width - w) / 2, top: r.top + (r.height - h) / 2, width: w, height: h };
  } else {
    const s = stage.getBoundingClientRect();
    area = { left: s.left, top: s.top, width: s.width, height: s.height };
  }
  const screen = (el, x, y) => {
    const p = svg.createSVGPoint(); p.x = x; p.y = y;
    const q = p.matrixTransform(el.getScreenCTM());
    return [q.x, q.y];
  };
  const rel = ([x, y]) => [(x - area.left) / area.width, (y - area.top) / area.height];
  const points = {};
  for (const c of svg.querySelectorAll('.pose-joint')) {
    const r = c.getBoundingClientRect();
    points[c.dataset.point] = { at: rel([r.left + r.width / 2, r.top + r.height / 2]), radius: r.width / 2 };
  }
  const lines = {};
  for (const l of svg.querySelectorAll('.pose-ink .pose-measure')) {
    const n = (a) => Number(l.getAttribute(a));
    lines[l.dataset.measure] = {
      a: rel(screen(l, n('x1'), n('y1'))), b: rel(screen(l, n('x2'), n('y2'))),
      broken: l.classList.contains('pose-broken'),
      stroke: getComputedStyle(l).stroke, width: getComputedStyle(l).strokeWidth,
      vectorEffect: getComputedStyle(l).vectorEffect,
    };
  }
  const bone = svg.querySelector('.pose-ink .pose-bone');
  const probe = document.createElement('span');
  probe.dataset.posture = svg.dataset.posture;
  probe.style.color = 'var(--p)';
  document.body.append(probe);
  const postureColour = getComputedStyle(probe).color;
  probe.dataset.posture = 'bad';
  const badColour = getComputedStyle(probe).color;
  probe.remove();
  return {
    area, box: { width: box.width, height: box.height }, points, lines,
    boneStroke: bone ? getComputedStyle(bone).stroke : null, postureColour, badColour,
    labels: [...svg.querySelectorAll('.pose-label')].map((t) => t.textContent),
    ariaLabel: svg.getAttribute('aria-label'),
  };
}
"""


def assert_close(
    got: list[float], want: tuple[float, ...] | list[float], tolerance: float, what: str
) -> None:
    assert math.dist(got, want[:2]) <= tolerance, f"{what}: drawn at {got}, the payload says {want[:2]}"


@pytest.mark.parametrize(
    "screen",
    [
        {"viewport": {"width": 1280, "height": 900}, "device_scale_factor": 1},
        {"viewport": {"width": 375, "height": 740}, "device_scale_factor": 3, "is_mobile": True},
    ],
    ids=["desktop", "phone-3x"],
)
def test_skeleton_is_drawn_over_the_picture_where_the_landmarks_are(  # noqa: PLR0917 (fixtures)
    pages: Pages,
    web_mosquitto: Mosquitto,
    publisher_factory: Callable[..., Publisher],
    node_id: str,
    photos: dict[str, Path],
    screen: dict[str, Any],
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "bad", reason="slouch")
    publisher.frame(node_id, jpeg_of(photos["astronaut"]))  # 640 by 640: the pose's aspect is 1
    page = open_node(pages, web_mosquitto.ws_port, node_id, **screen)
    expect(page.locator(FRAME)).to_be_visible()
    page.wait_for_function("() => document.querySelector('.panel-frame img.frame-img').naturalWidth > 0")
    expect(page.locator(OVERLAY)).to_be_hidden()  # no pose yet: nothing drawn

    with pose_stream(publisher, node_id, "bad", **FRONT):
        expect(page.locator(OVERLAY)).to_have_attribute("data-state", "live")
        expect(page.locator(OVERLAY)).to_have_attribute("data-mode", "over")
        expect(page.locator(".panel-frame .frame-box")).to_have_attribute("data-view", "over")
        geometry = page.evaluate(GEOMETRY)

    # One CSS pixel of tolerance on the picture: every landmark and line end sits on the person.
    tolerance = 1.0 / min(geometry["area"]["width"], geometry["area"]["height"])
    assert set(geometry["points"]) == set(ASTRONAUT)
    for name, point in ASTRONAUT.items():
        assert_close(geometry["points"][name]["at"], point, tolerance, name)
    for line in ASTRONAUT_LINES:
        drawn = geometry["lines"][line["name"]]
        assert_close(drawn["a"], line["a"], tolerance, f"{line['name']} a")
        assert_close(drawn["b"], line["b"], tolerance, f"{line['name']} b")
        assert drawn["broken"] is line["broken"]
        assert drawn["vectorEffect"] == "non-scaling-stroke"  # crisp, equally thick at any size and DPR
    # The posture's colour from the palette; broken measures highlighted (bad colour, thicker) and labelled.
    assert geometry["boneStroke"] == geometry["postureColour"]
    shoulder, tilt = geometry["lines"]["shoulder_tilt"], geometry["lines"]["head_tilt"]
    assert shoulder["stroke"] == geometry["badColour"]
    assert tilt["stroke"] == geometry["postureColour"]
    assert float(shoulder["width"].removesuffix("px")) > float(tilt["width"].removesuffix("px"))
    assert sorted(geometry["labels"]) == ["head height 0.31 < 0.35", "shoulder tilt 12° > 10°"]
    assert "shoulder tilt 12° > 10°" in geometry["ariaLabel"]
    # Joints keep their size in CSS pixels, whatever the picture's size or the screen's density.
    radii = [p["radius"] for p in geometry["points"].values()]
    assert all(abs(radius - 3.5) < 0.1 for radius in radii), radii


def test_the_skeleton_follows_the_steady_posture_colour(
    pages: Pages, web_mosquitto: Mosquitto, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "good")
    publisher.setting(node_id, "frames", "OFF")  # the privacy view: no picture needed for this test
    page = open_node(pages, web_mosquitto.ws_port, node_id)
    for posture in ("good", "bad", "unknown"):
        publisher.pose(node_id, posture)  # type: ignore[arg-type]
        expect(page.locator(OVERLAY)).to_have_attribute("data-posture", posture)
        geometry = page.evaluate(GEOMETRY)
        assert geometry["boneStroke"] == geometry["postureColour"], posture
    colour_of = (
        "p => { const s = document.createElement('span'); s.dataset.posture = p; s.style.color = 'var(--p)';"
        " document.body.append(s); const c = getComputedStyle(s).color; s.remove(); return c; }"
    )
    colours = {posture: page.evaluate(colour_of, posture) for posture in ("good", "bad", "unknown")}
    assert len(set(colours.values())) == 3  # three postures, three palette colours


@pytest.fixture(scope="module")
def secured() -> Iterator[SecureBroker]:
    """The repository's mosquitto.conf and broker/acl, with node user desk1."""
    with secure_mosquitto(nodes=("desk1",)) as broker:
        yield broker


def test_anonymous_viewers_of_the_secured_broker_see_the_skeleton_and_no_picture(
    pages: Pages, secured: SecureBroker, photos: dict[str, Path]
) -> None:
    node = "desk1"
    publisher = Publisher(secured.port, username=node, password=secured.users[node].password)
    try:
        publisher.node(node, "bad", reason="forward head")
        publisher.frame(node, jpeg_of(photos["astronaut"]))  # retained, but never for anonymous readers
        page = open_node(pages, secured.ws_port, node)
        aspect = 16 / 9
        with pose_stream(publisher, node, "bad", aspect=aspect):
            expect(page.locator(OVERLAY)).to_have_attribute("data-state", "live", timeout=15_000)
            expect(page.locator(OVERLAY)).to_have_attribute("data-mode", "privacy")
            expect(page.locator(".panel-frame .frame-box")).to_have_attribute("data-view", "privacy")
            expect(page.locator(".panel-frame .frame-caption")).to_contain_text("Posture only")
            # After the grace period the caption says why there is no picture, and offers sign-in.
            expect(page.locator(".panel-frame .frame-caption")).to_contain_text(
                "for signed-in viewers", timeout=15_000
            )
            expect(page.locator(".panel-frame .frame-caption button")).to_have_text("Sign in")
            geometry = page.evaluate(GEOMETRY)
            # Not a pixel of the room: no picture element showing, no frame in the store, none received.
            expect(page.locator(FRAME)).to_be_hidden()
            assert page.locator(FRAME).get_attribute("src") is None
            assert page.evaluate("id => DeskPulse.store.nodes.get(id).frame", node) is None
            assert page.evaluate("DeskPulse.store.diagnostics.counts.frame || 0") == 0
            expect(page.locator(".panel-frame .frame-placeholder")).to_be_hidden()
            # The neutral stage has the picture's shape, and the skeleton sits on it where the landmarks are.
            stage = geometry["area"]
            assert stage["width"] / stage["height"] == pytest.approx(aspect, rel=0.01)
            sample = pose(node)
            tolerance = 1.0 / stage["height"]
            for name, point in sample["points"].items():
                assert_close(geometry["points"][name]["at"], point, tolerance, name)
            assert geometry["labels"] == ["neck 38° > 25°"]

            # Signing in as a viewer brings the picture, and the skeleton moves over it.
            page.get_by_role("button", name="Sign in", exact=True).first.click()
            page.get_by_label("User name").fill("viewer")
            page.get_by_label("Password").fill(secured.viewer.password)
            page.locator("#signin-submit").click()
            expect(page.locator(FRAME)).to_be_visible(timeout=15_000)
            expect(page.locator(OVERLAY)).to_have_attribute("data-mode", "over")
            expect(page.locator(".panel-frame .frame-caption")).to_be_hidden()
    finally:
        publisher.close()


def test_the_skeleton_fades_then_goes_when_poses_stop(
    pages: Pages, web_mosquitto: Mosquitto, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "bad")
    publisher.setting(node_id, "frames", "OFF")
    page = open_node(pages, web_mosquitto.ws_port, node_id)
    with pose_stream(publisher, node_id) as sent:
        expect(page.locator(OVERLAY)).to_have_attribute("data-state", "live")
        time.sleep(1.0)
    last = sent[-1]
    opacity = "() => Number(getComputedStyle(document.querySelector('.panel-frame .pose-overlay')).opacity)"
    # Still fully there for a moment (nothing fades before POSE_FADE_AFTER_S)...
    if time.time() - last < 1.2:
        assert page.locator(OVERLAY).get_attribute("data-state") == "live"
        assert page.evaluate(opacity) == 1
    # ...then fading: part-transparent, redrawn frame by frame...
    page.wait_for_function(
        f"() => document.querySelector('.panel-frame .pose-overlay').dataset.state === 'fading'"
        f" && ({opacity})() > 0 && ({opacity})() < 1",
        polling="raf",
        timeout=5_000,
    )
    assert time.time() - last >= 1.5
    # ...and gone by POSE_GONE_AFTER_S: hidden, and the privacy view hands back to the words.
    expect(page.locator(OVERLAY)).to_have_attribute("data-state", "gone", timeout=5_000)
    assert time.time() - last >= 3.0
    expect(page.locator(OVERLAY)).to_be_hidden()
    expect(page.locator(".panel-frame .frame-placeholder")).to_contain_text("turned off")
    # A pose after that is drawn again at once.
    publisher.pose(node_id)
    expect(page.locator(OVERLAY)).to_have_attribute("data-state", "live")


def test_no_skeleton_while_monitoring_is_off_or_the_node_is_offline(
    pages: Pages, web_mosquitto: Mosquitto, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "bad")
    page = open_node(pages, web_mosquitto.ws_port, node_id)
    publisher.setting(node_id, "monitoring", "OFF")
    publisher.state(node_id, "paused")
    expect(page.locator(".panel-status .status-word")).to_have_text("Paused")
    with pose_stream(publisher, node_id):
        page.wait_for_function("id => DeskPulse.store.nodes.get(id).pose !== null", arg=node_id)
        expect(page.locator(".panel-frame .frame-placeholder")).to_contain_text("Monitoring is off")
        expect(page.locator(OVERLAY)).to_be_hidden()
        publisher.setting(node_id, "monitoring", "ON")
        publisher.state(node_id, "bad")
        expect(page.locator(OVERLAY)).to_have_attribute("data-state", "live")
        publisher.availability(node_id, "offline")
        expect(page.locator(OVERLAY)).to_be_hidden()
        expect(page.locator(".panel-frame .frame-placeholder")).to_contain_text("offline")


def malformed_poses(node: str) -> list[tuple[str, bytes]]:
    """Poses that must not be drawn: wrong types, NaN, coordinates outside 0..1, garbage, 1 MB."""
    good = pose(node)

    def variant(why: str, change: Callable[[dict[str, Any]], None]) -> tuple[str, bytes]:
        payload = json.loads(json.dumps(good))
        change(payload)
        return why, json.dumps(payload).encode()

    def set_key(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
        return lambda p: p.__setitem__(key, value)

    def set_point(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
        return lambda p: p["points"].__setitem__(name, value)

    def set_line(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
        return lambda p: p["lines"][0].__setitem__(key, value)

    return [
        ("not JSON", b"{not json"),
        ("an array", b"[1, 2, 3]"),
        ("NaN", json.dumps(good).replace('"aspect": 1.7778', '"aspect": NaN').encode()),
        variant("ts missing", lambda p: p.pop("ts")),
        variant("unknown posture", set_key("posture", "slouching")),
        variant("aspect a string", set_key("aspect", "16:9")),
        variant("points a list", set_key("points", [[0.5, 0.5, 1.0]])),
        variant("x outside 0..1", set_point("nose", [1.5, 0.3, 0.99])),
        variant("negative y", set_point("nose", [0.5, -0.01, 0.99])),
        variant("point of two numbers", set_point("nose", [0.5, 0.3])),
        variant("point with a string", set_point("nose", ["0.5", 0.3, 0.99])),
        variant("unknown landmark", set_point("left_knee", [0.5, 0.9, 0.99])),
        variant("line end outside", set_line("b", [0.45, 1.2])),
        variant("line end of three", set_line("a", [0.45, 0.5, 0.1])),
        variant("value a string", set_line("value", "38")),
        variant("measure unknown", set_line("measure", "neck")),
        variant("broken not a bool", set_line("broken", "yes")),
        variant("lines an object", set_key("lines", {"neck": 1})),
        variant("too many lines", lambda p: p.__setitem__("lines", p["lines"] * 40)),
        ("1 MB of garbage", b"\xff" * 1_000_000),
    ]


def test_malformed_poses_are_ignored_and_never_break_the_page(
    pages: Pages, web_mosquitto: Mosquitto, publisher_factory: Callable[..., Publisher], node_id: str
) -> None:
    publisher = publisher_factory(web_mosquitto.port)
    publisher.node(node_id, "bad")
    publisher.setting(node_id, "frames", "OFF")
    page = open_node(pages, web_mosquitto.ws_port, node_id)
    publisher.pose(node_id, "bad")
    expect(page.locator(OVERLAY)).to_have_attribute("data-state", "live")
    version = page.evaluate("id => DeskPulse.store.nodes.get(id).pose.version", node_id)
    bad = malformed_poses(node_id)
    before = page.evaluate("DeskPulse.store.diagnostics.malformed")
    for _why, payload in bad:
        publisher.raw(f"deskpulse/{node_id}/pose", payload, retain=False, qos=1)
    # The 1 MB message takes mosquitto 2.0.11 about 25 s to write to a WebSocket (about 40 KB/s).
    page.wait_for_function(f"DeskPulse.store.diagnostics.malformed >= {before + len(bad)}", timeout=90_000)
    assert page.evaluate("DeskPulse.store.diagnostics.malformed") == before + len(bad)
    assert page.evaluate("id => DeskPulse.store.nodes.get(id).pose.version", node_id) == version
    problems = [line for line in pages.console if "ignored a message on" in line and "/pose" in line]
    assert len(problems) == len(bad), problems
    # The page still works: a good pose is drawn, and the rest of the page still follows the node.
    publisher.pose(node_id, "good")
    expect(page.locator(OVERLAY)).to_have_attribute("data-posture", "good")
    publisher.state(node_id, "good")
    expect(page.locator(".panel-status .status-word")).to_have_text("Good posture")
