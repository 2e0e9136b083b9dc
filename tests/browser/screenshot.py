"""Make docs/dashboard.png: the dashboard in headless Chromium, served and fed by a throwaway mosquitto.

    .venv/bin/python -m tests.browser.screenshot [--out docs/dashboard.png] [--width 1280] [--dark]
        [--view detail|overview]
    .venv/bin/python -m tests.browser.screenshot --privacy      # docs/dashboard-privacy.png

The numbers are sample data published with the node's own payload models; the pictures are photos that
scikit-image ships (astronaut: public domain; coffee: CC0). Nothing is fetched from the internet. The
skeleton over the astronaut is where MediaPipe (the node's pose engine) finds her landmarks.

--privacy runs the repository's secured mosquitto.conf (tests/secure_broker.py) and shows what an anonymous
viewer sees there: the skeleton of a slouching person on a neutral stage, and no picture.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import CHROMIUM_ARGS, DASHBOARD, chromium_path, page_url
from tests.browser.payloads import ASTRONAUT, Publisher, pose_line
from tests.secure_broker import secure_mosquitto
from tests.support import ROOT, Mosquitto

NODE = "desk1"
ASTRONAUT_LINES = (
    pose_line("shoulder_tilt", "shoulder_tilt_deg", (0.22, 0.469), (0.598, 0.501), value=4.9, limit=10.0),
    pose_line(
        "head_height", "head_height_ratio", (0.409, 0.485), (0.435, 0.25), value=0.619, limit=0.375, op="<"
    ),
)


def publish_pose(publisher: Publisher, privacy: bool) -> None:
    """The skeleton the node would publish now (it fades within 3 s, so this comes just before a shot)."""
    if privacy:
        publisher.pose(NODE, "bad")  # a slouching person seen from the side (payloads.SIDE_POINTS)
    else:
        publisher.pose(NODE, "good", view="front", aspect=1.0, points=ASTRONAUT, lines=ASTRONAUT_LINES)


def sample_frame(name: str = "astronaut") -> bytes:
    import cv2
    from skimage import data

    image = cv2.cvtColor(getattr(data, name)(), cv2.COLOR_RGB2BGR)
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return bytes(buffer.tobytes())


def publish_sample(
    publisher: Publisher, nodes: dict[str, Publisher] | None = None, *, privacy: bool = False
) -> None:
    """A desk that has been in use for a week, and two more for the overview.

    `nodes`: a publisher per node (the secured broker lets each node publish only its own topics).
    """
    others = nodes or {}
    desk2 = others.get("desk2", publisher)
    desk3 = others.get("desk3", publisher)
    now = time.time()
    today = dt.date.today()
    publisher.info(NODE, name="Anna's desk")
    publisher.settings(NODE, calibrate="calibrated", alert_minutes="10", sensitivity="medium")
    publisher.camera(NODE)
    publisher.availability(NODE)
    publisher.stats(NODE, good_s=4 * 3600 + 35 * 60, bad_s=52 * 60, away_s=48 * 60, alerts=1)
    week = [
        (5.2, 1.9, 1.0),
        (4.1, 2.2, 1.5),
        (0.0, 0.0, 0.0),
        (5.5, 1.4, 0.8),
        (6.1, 1.1, 0.6),
        (4.8, 0.9, 1.2),
    ]
    days = [
        ((today - dt.timedelta(days=6 - n)).isoformat(), good * 3600, bad * 3600, away * 3600)
        for n, (good, bad, away) in enumerate(week)
    ]
    days.append((today.isoformat(), 4 * 3600 + 35 * 60, 52 * 60, 48 * 60))
    publisher.history(NODE, days, trend="improving")
    publisher.frame(NODE, sample_frame())
    if privacy:
        publisher.state(
            NODE, "bad", reason="forward head", since=now - 3 * 60 - 40, confidence=0.93, calibrated=True
        )
    else:
        publisher.state(NODE, "good", since=now - 23 * 60 - 14, confidence=0.97, calibrated=True)

    desk2.node("desk2", "bad", name="Ben's desk", reason="forward head, slouch", since=now - 4 * 60)
    desk2.setting("desk2", "frames", "OFF")
    desk2.stats("desk2", good_s=2 * 3600, bad_s=70 * 60, away_s=30 * 60, alerts=2)
    desk3.node("desk3", "away", name="Meeting room", since=now - 38 * 60)
    desk3.frame("desk3", sample_frame("coffee"))


def shoot(
    publisher: Publisher, nodes: dict[str, Publisher], ws_port: int, out: Path, args: argparse.Namespace
) -> None:
    """Open the page on the broker, set the scene and take the screenshot."""
    executable = chromium_path()
    assert executable is not None
    privacy = bool(args.privacy)
    publish_sample(publisher, nodes, privacy=privacy)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": args.width, "height": 900},
            device_scale_factor=1,
            color_scheme="dark" if args.dark else "light",
            locale="en-US",
        )
        page = context.new_page()
        hash_part = f"#/node/{NODE}" if args.view == "detail" else ""
        page.goto(page_url(ws_port, ws_port) + hash_part)
        expect(page.locator("#conn-text")).to_have_text("Connected", timeout=15_000)
        if not privacy:
            # The sample broker has no accounts: any name signs in, and MQTT 5 reports full rights.
            page.locator("#signin-btn").click()
            page.get_by_label("User name").fill("anna")
            page.get_by_label("Password").fill("sample")
            page.locator("#signin-submit").click()
            expect(page.locator("#user-label")).to_have_text("anna (control)")
            publisher.frame(NODE, sample_frame())
        publisher.event(NODE, "calibrated", "calibrated from 48 frames")
        publisher.event(NODE, "posture_alert", "bad posture for 10 min: time to sit up or take a break")
        publisher.event(NODE, "posture_corrected", "posture corrected after 11 min of bad posture")
        nodes.get("desk2", publisher).event(
            "desk2", "posture_alert", "bad posture for 10 min: time to sit up or take a break"
        )
        if args.view == "detail":
            if privacy:
                # An anonymous viewer of the secured broker: no frame ever arrives, the skeleton stands in.
                expect(page.locator(".frame-placeholder")).to_contain_text(
                    "signed-in viewers", timeout=15_000
                )
            else:
                expect(page.locator(".panel-frame img.frame-img")).to_be_visible()
                page.wait_for_function("document.querySelector('.panel-frame img.frame-img').complete")
        time.sleep(1.2)
        page.mouse.move(0, 0)
        if args.view == "detail":
            publish_pose(publisher, privacy)
            expect(page.locator(".pose-overlay")).to_have_attribute("data-state", "live")
            overlay = "document.querySelector('.pose-overlay')"
            page.wait_for_function(f"Number(getComputedStyle({overlay}).opacity) > 0.99")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--dark", action="store_true")
    parser.add_argument("--view", choices=("detail", "overview"), default="detail")
    parser.add_argument("--privacy", action="store_true", help="an anonymous viewer of the secured broker")
    args = parser.parse_args()
    if chromium_path() is None:
        parser.error("Chromium is not installed (apt-get install chromium)")
    out: Path = args.out or ROOT / "docs" / ("dashboard-privacy.png" if args.privacy else "dashboard.png")

    if args.privacy:
        with secure_mosquitto(nodes=(NODE, "desk2", "desk3")) as secured:
            nodes = {
                node: Publisher(secured.port, username=node, password=secured.users[node].password)
                for node in (NODE, "desk2", "desk3")
            }
            try:
                shoot(nodes[NODE], nodes, secured.ws_port, out, args)
            finally:
                for publisher in nodes.values():
                    publisher.close()
    else:
        with tempfile.TemporaryDirectory(prefix="deskpulse-shot-") as folder:
            broker = Mosquitto(Path(folder), extra_config=f"http_dir {DASHBOARD}\n").start()
            publisher = Publisher(broker.port)
            try:
                shoot(publisher, {}, broker.ws_port, out, args)
            finally:
                publisher.close()
                broker.stop()
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
