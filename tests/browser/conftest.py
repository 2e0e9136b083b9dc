"""Browser-test fixtures: real headless Chromium (Debian's, driven by Playwright), brokers serving the page.

One Chromium per test session; every test gets fresh browser contexts (fresh storage, no shared state).
Never `playwright install`: the browser is the system's `chromium`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
)

from tests.browser.payloads import Publisher
from tests.chromium import CHROMIUM_ARGS, DASHBOARD, MQTT_JS, chromium_path  # noqa: F401 (used by tests)
from tests.support import Mosquitto

DEFAULT_VIEWPORT = {"width": 1280, "height": 900}


@dataclass
class Pages:
    """Opens pages in fresh contexts and fails the test on any uncaught error in a page."""

    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def context(self, **options: Any) -> BrowserContext:
        options.setdefault("viewport", DEFAULT_VIEWPORT)
        options.setdefault("locale", "en-US")
        context = self.browser.new_context(**options)
        self.contexts.append(context)
        return context

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        page.on("console", lambda message: self._console(page, message))
        return page

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")

    def open(self, url: str, *, context: BrowserContext | None = None, **options: Any) -> Page:
        """A new page at `url` whose dashboard has booted."""
        page = self.watch((context or self.context(**options)).new_page())
        page.goto(url)
        page.wait_for_function("() => window.DeskPulse && window.DeskPulse.app", timeout=15_000)
        return page

    def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Error):
                context.close()


@pytest.fixture
def pages(browser: Browser) -> Iterator[Pages]:
    opened = Pages(browser)
    yield opened
    opened.close()
    console = "\n".join(opened.console[-20:])
    assert not opened.errors, (
        "uncaught errors in the page:\n" + "\n".join(opened.errors) + "\nconsole:\n" + console
    )


@pytest.fixture(scope="module")
def web_mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """An anonymous mosquitto whose WebSockets listener also serves dashboard/ (http_dir)."""
    broker = Mosquitto(
        tmp_path_factory.mktemp("web-mosquitto"), extra_config=f"http_dir {DASHBOARD}\n"
    ).start()
    yield broker
    broker.stop()


def page_url(http_port: int, ws_port: int, **params: str) -> str:
    query = "&".join([f"broker=ws://127.0.0.1:{ws_port}", *(f"{k}={v}" for k, v in params.items())])
    return f"http://127.0.0.1:{http_port}/?{query}"


@pytest.fixture
def publisher_factory() -> Iterator[Callable[..., Publisher]]:
    made: list[Publisher] = []

    def make(port: int, **kwargs: Any) -> Publisher:
        publisher = Publisher(port, **kwargs)
        made.append(publisher)
        return publisher

    yield make
    for publisher in made:
        publisher.close()


def node_ids() -> Iterator[str]:
    """Unique node ids, so tests on a shared broker never see each other's retained topics."""
    number = 0
    while True:
        number += 1
        yield f"web{number}"


_IDS = node_ids()


@pytest.fixture
def node_id() -> str:
    return next(_IDS)


def jpeg_of(path: Path, width: int = 640, quality: int = 70) -> bytes:
    """A real JPEG made from a real photo (what the node publishes on `frame`)."""
    import cv2

    image = cv2.imread(str(path))
    height = round(image.shape[0] * width / image.shape[1])
    ok, buffer = cv2.imencode(".jpg", cv2.resize(image, (width, height)), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return bytes(buffer.tobytes())
