"""Signing in over TLS: the repository's mosquitto.conf with its wss listener uncommented, a throwaway CA, and
a Chromium that trusts that CA the way a person's browser would, through its NSS certificate database.

How the browser trusts the test CA: Chromium on Linux reads trust anchors from `$HOME/.pki/nssdb`. A throwaway
home folder gets a fresh NSS database holding only the test CA (`certutil -A -t C,,`), and Chromium is
launched with HOME pointing at it. Nothing is ignored: the certificate chain and the host name are checked
as for any site, and a second Chromium without that database is refused (ERR_CERT_AUTHORITY_INVALID).

The broker's host name is `broker.deskpulse.test`, which Chromium resolves to 127.0.0.1 through
`--host-resolver-rules`: a name that is not loopback to the page, with no network needed.
"""

from __future__ import annotations

import functools
import http.client
import http.server
import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Error, Page, Playwright, expect

from tests.browser.conftest import Pages, jpeg_of
from tests.browser.payloads import Publisher
from tests.chromium import CHROMIUM_ARGS, DASHBOARD, MQTT_JS, chromium_path
from tests.pki import issue, make_ca, need_openssl
from tests.secure_broker import SecureBroker, secure_mosquitto
from tests.support import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NODE = "desk1"
HOST = "broker.deskpulse.test"  # not loopback by name; Chromium maps it to 127.0.0.1
RESOLVE = f"--host-resolver-rules=MAP {HOST} 127.0.0.1"
FRAME = ".panel-frame img.frame-img"
WARNING = "#signin-insecure"
ADVICE = ".panel-status .advice"

# Every MQTT.js connect() the page makes, with the user name it sends (null for anonymous).
RECORD_CONNECTS = """() => {
  window.__connects = [];
  const mqtt = window.mqtt;  // MQTT.js's own object does not take a new property: wrap it whole
  window.mqtt = { ...mqtt, connect: (url, options) => {
    window.__connects.push({ url, user: options.username || null });
    return mqtt.connect(url, options);
  } };
}"""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA and a server certificate for the broker's host name, localhost and 127.0.0.1."""
    need_openssl()
    folder = tmp_path_factory.mktemp("web-pki")
    ca = make_ca(folder, "ca")
    server = issue(folder, ca, "server", server=True, names=(HOST, "localhost", "127.0.0.1"))
    return {"ca.crt": ca[0], "server.crt": server[0], "server.key": server[1]}


def _home_with_nssdb(folder: Path, ca: Path | None) -> Path:
    """A home folder whose NSS database trusts `ca` for TLS servers (or nothing)."""
    if shutil.which("certutil") is None:
        pytest.fail(
            "certutil is missing: apt-get install libnss3-tools (it makes the browser trust the test CA)"
        )
    nssdb = folder / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True, timeout=60)
    if ca is not None:
        subprocess.run(
            ["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "DeskPulse test CA", "-t", "C,,", "-i", str(ca)],
            check=True,
            timeout=60,
        )
    return folder


def _launch(driver: Playwright, home: Path) -> Browser:
    executable = chromium_path()
    if executable is None:
        pytest.fail("Chromium is not installed (apt-get install chromium)")
    if not MQTT_JS.is_file():
        pytest.fail("dashboard/node_modules is missing: run scripts/install.sh")
    return driver.chromium.launch(
        executable_path=executable,
        headless=True,
        args=[*CHROMIUM_ARGS, RESOLVE],
        env={**os.environ, "HOME": str(home)},
    )


@pytest.fixture(scope="module")
def trusting_browser(
    playwright_driver: Playwright, pki: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """Chromium whose NSS database trusts the test CA."""
    browser = _launch(
        playwright_driver, _home_with_nssdb(tmp_path_factory.mktemp("home-trust"), pki["ca.crt"])
    )
    yield browser
    browser.close()


@pytest.fixture
def tls_pages(trusting_browser: Browser) -> Iterator[Pages]:
    opened = Pages(trusting_browser)
    yield opened
    opened.close()
    assert not opened.errors, "uncaught errors in the page:\n" + "\n".join(opened.errors)


@pytest.fixture(scope="module")
def broker(pki: dict[str, Path]) -> Iterator[SecureBroker]:
    """The repository's mosquitto.conf with its MQTT TLS and wss listeners uncommented."""
    with secure_mosquitto(nodes=(NODE,), tls_files=pki, wss=True) as secured:
        yield secured


@pytest.fixture(scope="module")
def node(broker: SecureBroker, photos: dict[str, Path]) -> Iterator[Publisher]:
    """A node's retained topics, as its own user over TCP: a front view asking for calibration, a frame."""
    user = broker.node(NODE)
    publisher = Publisher(broker.port, username=user.username, password=user.password)
    publisher.node(NODE, "good", view="front", calibration_recommended=True)
    publisher.frame(NODE, jpeg_of(photos["astronaut"]))
    yield publisher
    publisher.close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def https_site(pki: dict[str, Path]) -> Iterator[int]:
    """Any web server serving dashboard/ over https with the broker's certificate (here: Python's)."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", free_port()), functools.partial(_Quiet, directory=str(DASHBOARD))
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["server.crt"], pki["server.key"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="https-site", daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def sign_in(page: Page, user: str, password: str) -> None:
    page.locator("#signin-btn").click()
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.locator("#signin-submit").click()


def test_signing_in_over_wss_from_a_page_over_https_shows_the_viewer_the_frame(
    tls_pages: Pages, broker: SecureBroker, node: Publisher, https_site: int
) -> None:
    wss = broker.wss_url(HOST)
    page = tls_pages.watch(tls_pages.context().new_page())
    response = page.goto(f"https://{HOST}:{https_site}/?broker={wss}&node={NODE}")
    assert response is not None and response.ok
    security = response.security_details() or {}
    assert security.get("issuer") == "DeskPulse test ca" and security.get("subjectName") == "server"
    page.wait_for_function("() => window.DeskPulse && window.DeskPulse.app")
    page.evaluate(RECORD_CONNECTS)
    expect(page.locator("#conn-text")).to_have_text("Connected", timeout=15_000)
    expect(page.locator("#conn-detail")).to_contain_text(wss)
    # Anonymous over wss: the state, never the picture (broker/acl), the calibration advice but no button.
    expect(page.locator(".panel-status .status-word")).to_have_text("Good posture")
    expect(page.locator(".panel-frame .frame-placeholder")).to_contain_text("for signed-in viewers only")
    expect(page.locator(ADVICE)).to_be_visible()
    expect(page.locator(ADVICE).get_by_role("button")).to_be_hidden()

    # wss:// never warns, even to a host that is not this machine: one press signs in.
    page.locator("#signin-btn").click()
    expect(page.locator(WARNING)).to_be_hidden()
    page.get_by_label("User name").fill("viewer")
    page.get_by_label("Password").fill(broker.viewer.password)
    page.locator("#signin-submit").click()
    expect(page.locator("#user-label")).to_have_text("viewer (viewer)")
    expect(page.locator(FRAME)).to_be_visible(timeout=15_000)
    assert (page.locator(FRAME).get_attribute("src") or "").startswith("blob:")
    connects = page.evaluate("window.__connects")
    assert {"url": wss, "user": "viewer"} in connects
    assert all(c["url"].startswith("wss://") for c in connects), connects  # the frames connection too
    expect(page.locator(ADVICE)).to_be_visible()  # a viewer sees the advice, and still no button
    expect(page.locator(ADVICE).get_by_role("button")).to_be_hidden()
    assert "u'viewer'" in broker.log()


def test_without_the_ca_in_its_database_chromium_refuses_the_page(
    playwright_driver: Playwright, tmp_path: Path, https_site: int
) -> None:
    """The control for the trust method: the same site, a Chromium whose NSS database lacks the test CA."""
    browser = _launch(playwright_driver, _home_with_nssdb(tmp_path / "home", None))
    try:
        page = browser.new_page()
        with pytest.raises(Error, match="ERR_CERT_AUTHORITY_INVALID"):
            page.goto(f"https://{HOST}:{https_site}/")
    finally:
        browser.close()


def test_the_wss_listener_serves_the_page_over_http_1_1_but_answers_browsers_in_http_2(
    tls_pages: Pages, broker: SecureBroker, pki: dict[str, Path]
) -> None:
    """mosquitto 2.0.11 as Debian 12 builds it: its libwebsockets offers HTTP/2, which http_dir cannot serve.

    docs/mosquitto.md tells users to load the page from elsewhere for that reason; when this test fails,
    mosquitto serves the page over https itself, and that advice can go.
    """
    assert broker.wss_port is not None
    context = ssl.create_default_context(cafile=str(pki["ca.crt"]))
    context.set_alpn_protocols(["http/1.1"])
    connection = http.client.HTTPSConnection("127.0.0.1", broker.wss_port, context=context, timeout=10)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, (DASHBOARD / "index.html").read_bytes())
    finally:
        connection.close()
    offered = ssl.create_default_context(cafile=str(pki["ca.crt"]))
    offered.set_alpn_protocols(["h2", "http/1.1"])  # what every browser offers
    with (
        socket.create_connection(("127.0.0.1", broker.wss_port), timeout=10) as raw,
        offered.wrap_socket(raw, server_hostname=HOST) as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"
    page = tls_pages.context().new_page()
    with pytest.raises(Error, match="ERR_HTTP2_PROTOCOL_ERROR"):
        page.goto(f"https://{HOST}:{broker.wss_port}/")


def test_signing_in_over_plain_ws_to_another_host_warns_before_anything_is_sent(
    tls_pages: Pages, broker: SecureBroker, node: Publisher
) -> None:
    ws = f"ws://{HOST}:{broker.ws_port}"
    page = tls_pages.open(f"http://127.0.0.1:{broker.ws_port}/?broker={ws}&node={NODE}")
    page.evaluate(RECORD_CONNECTS)
    expect(page.locator("#conn-text")).to_have_text("Connected", timeout=15_000)
    log_before = broker.log().count("u'viewer'")

    page.locator("#signin-btn").click()
    warning = page.locator(WARNING)
    expect(warning).to_be_visible()  # before the password is even typed
    expect(warning).to_contain_text("Not encrypted.")
    expect(warning).to_contain_text(ws)
    page.get_by_label("User name").fill("viewer")
    page.get_by_label("Password").fill(broker.viewer.password)
    page.get_by_label("Password").press("Enter")  # a habit, not a decision: nothing leaves
    submit = page.locator("#signin-submit")
    expect(submit).to_have_text("Send anyway")
    expect(page.locator("#signin-insecure-confirm")).to_contain_text("only when you press Send anyway")
    expect(page.locator("#signin-dialog")).to_be_visible()
    page.wait_for_timeout(1500)  # time enough for a connection to reach the broker, were one made
    assert [c for c in page.evaluate("window.__connects") if c["user"]] == []
    assert broker.log().count("u'viewer'") == log_before
    expect(page.locator("#user-label")).to_have_text("Read-only")

    # Deliberately: "Send anyway" signs in (the sentinel that the checks above could have seen a send).
    submit.click()
    expect(page.locator("#user-label")).to_have_text("viewer (viewer)")
    expect(page.locator("#signin-dialog")).to_be_hidden()
    assert {"url": ws, "user": "viewer"} in page.evaluate("window.__connects")
    assert broker.log().count("u'viewer'") > log_before

    # Cancel forgets the confirmation: the next sign-in asks again.
    page.get_by_role("button", name="Sign out").click()
    page.locator("#signin-btn").click()
    expect(warning).to_be_visible()
    expect(submit).to_have_text("Sign in")
    page.get_by_role("button", name="Cancel").click()


def test_loopback_never_warns(tls_pages: Pages, broker: SecureBroker, node: Publisher) -> None:
    page = tls_pages.open(
        f"http://127.0.0.1:{broker.ws_port}/?broker=ws://localhost:{broker.ws_port}&node={NODE}"
    )
    expect(page.locator("#conn-text")).to_have_text("Connected", timeout=15_000)
    page.locator("#signin-btn").click()
    expect(page.locator(WARNING)).to_be_hidden()
    page.get_by_label("User name").fill("viewer")
    page.get_by_label("Password").fill(broker.viewer.password)
    page.locator("#signin-submit").click()  # one press
    expect(page.locator("#user-label")).to_have_text("viewer (viewer)")

    verdicts = page.evaluate(
        "urls => urls.map(u => [u, DeskPulse.config.exposesPassword(u)])",
        [
            "ws://127.0.0.1:9001",
            "ws://127.1:9001",
            "ws://127.200.3.4:9001",
            "ws://localhost:9001",
            "ws://LOCALHOST.:9001",
            "ws://[::1]:9001",
            "wss://broker.lan:9443",
            "wss://192.168.1.10:9443",
            "ws://broker.lan:9001",
            "ws://192.168.1.10:9001",
            "ws://[fe80::1]:9001",
            "ws://127.0.0.1.example.com:9001",
            "ws://localhost.example.com:9001",
        ],
    )
    assert [url for url, exposes in verdicts if exposes] == [
        "ws://broker.lan:9001",
        "ws://192.168.1.10:9001",
        "ws://[fe80::1]:9001",
        "ws://127.0.0.1.example.com:9001",
        "ws://localhost.example.com:9001",
    ]
