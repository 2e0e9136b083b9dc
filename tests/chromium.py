"""One headless Chromium per test session (Debian's, driven by Playwright), for every test that needs one.

Playwright's sync API allows one driver per process at a time, so the driver is a session fixture
here and not started by individual tests. Never `playwright install`: the browser is the system's.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.support import ROOT

DASHBOARD = ROOT / "dashboard"
MQTT_JS = DASHBOARD / "node_modules" / "mqtt" / "dist" / "mqtt.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """The system Chromium (Debian's package), never a Playwright download."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Headless Chromium shared by the whole session."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    if not MQTT_JS.is_file():
        pytest.fail(f"{MQTT_JS.relative_to(ROOT)} is missing: run scripts/install.sh (npm ci in dashboard/)")
    instance = playwright_driver.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    yield instance
    instance.close()
