"""Screenshot of the node's device page in a real Home Assistant, for docs/ha-device.png.

    .venv/bin/python -m tests.ha.screenshot [OUTPUT.png]

Starts mosquitto, Home Assistant (installed into the test cache on first use) and the real node on a
photo, signs in as the test owner in headless Chromium (the system's `chromium`), and saves the page.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright
from skimage import data

from tests.ha.harness import OWNER_PASSWORD, OWNER_USERNAME, HomeAssistant, ensure_installed, find_interpreter
from tests.ha.scenario import DEVICE_NAME, ENTITIES, Node, example_automations
from tests.support import ROOT, Mosquitto, wait_until

VIEWPORT = {"width": 1400, "height": 1780}  # tall enough for every card of the device page
CLIP = {"x": 0, "y": 0, "width": 1030, "height": 1780}  # HA's two columns end before this
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def take(output: Path, ha: HomeAssistant) -> None:
    """Sign in and photograph the device page."""
    device = ha.device(DEVICE_NAME)
    assert device is not None
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise SystemExit("no chromium on PATH")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(ha.url + "/")
        page.locator("input[name=username]").fill(OWNER_USERNAME)
        page.locator("input[name=password]").fill(OWNER_PASSWORD)
        page.locator("input[name=password]").press("Enter")
        # Signed in once the frontend has stored its tokens and opened the default dashboard.
        page.wait_for_url("**/lovelace/**", timeout=60_000)
        device_page = f"{ha.url}/config/devices/device/{device['id']}"
        for attempt in range(3):  # the first load of the frontend can be slow on a busy machine
            page.goto(device_page)
            try:
                page.get_by_text("Posture alert", exact=True).locator("visible=true").first.wait_for(
                    timeout=30_000
                )
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
        time.sleep(3)  # let cards and icons settle
        page.screenshot(path=str(output), clip=CLIP)
        browser.close()


def main() -> int:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "ha-device.png"
    interpreter = find_interpreter()
    if interpreter is None:
        raise SystemExit("Home Assistant needs python3.13 or python3.12 on PATH")
    install = ensure_installed(interpreter)
    workdir = Path(tempfile.mkdtemp(prefix="deskpulse-ha-shot-"))
    photo = workdir / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    broker = Mosquitto(workdir / "mosquitto").start()
    ha = HomeAssistant(install, workdir / "ha", mqtt_port=broker.port, automations=example_automations())
    node: Node | None = None
    try:
        ha.start()
        (workdir / "node").mkdir()
        node = Node(workdir / "node", broker, photo)
        node.start()
        node.watcher.wait_for(
            node.topic("state"), lambda m: m.json()["posture"] in ("good", "bad"), timeout=120
        )

        def settled() -> bool:
            states = {eid: ha.state(eid) for eid in ENTITIES}
            return None not in states.values() and "unavailable" not in states.values()

        wait_until(settled, 120, interval=0.5, what="every entity with a state")
        wait_until(  # a minute of good posture, so today's totals are not all zero
            lambda: float(ha.state("sensor.deskpulse_ha_desk_good_minutes") or 0) >= 1.0,
            180,
            interval=1.0,
            what="a minute of good posture",
        )
        take(output, ha)
        print(f"saved {output}")
    finally:
        if node is not None:
            node.close()
        ha.stop()
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
