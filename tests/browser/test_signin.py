"""Sign-in and controls against the repository's secured mosquitto.conf (tests/secure_broker.py) and the real
daemon logged in as its node user: anonymous viewers are read-only and see no frame, a viewer sees the frame,
a control user changes the node's settings."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DASHBOARD, Pages, page_url
from tests.secure_broker import SecureBroker, secure_mosquitto
from tests.support import Daemon, Mosquitto, Watcher

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NODE = "desk1"
DAEMON_START_S = 90
FAST_POSTURE = {"DESKPULSE_POSTURE__BAD_AFTER_S": "1", "DESKPULSE_POSTURE__GOOD_AFTER_S": "0.5"}
FRAME = ".panel-frame img.frame-img"
PLACEHOLDER = ".panel-frame .frame-placeholder"


@pytest.fixture(scope="module")
def secured() -> Iterator[SecureBroker]:
    with secure_mosquitto(nodes=(NODE,)) as broker:
        yield broker


@pytest.fixture(scope="module")
def node(
    secured: SecureBroker, tmp_path_factory: pytest.TempPathFactory, photos: dict[str, Path]
) -> Iterator[Daemon]:
    """The real daemon on a real photo, signed in to the secured broker as its node user."""
    workdir = tmp_path_factory.mktemp("node")
    daemon = Daemon(
        [
            "--source",
            str(photos["astronaut"]),
            "--loop",
            "--data-dir",
            str(workdir / "data"),
            *secured.node_args(),
        ],
        workdir,
        env={**secured.node_env(), **FAST_POSTURE},
    ).start()
    watcher = Watcher(
        secured.port, (f"deskpulse/{NODE}/#",), username="control", password=secured.control.password
    )
    try:
        watcher.wait_connected()
        watcher.wait_for(f"deskpulse/{NODE}/frame", lambda m: len(m.payload) > 0, timeout=DAEMON_START_S)
    finally:
        watcher.close()
    yield daemon
    daemon.stop()


@pytest.fixture
def control_watcher(secured: SecureBroker) -> Iterator[Watcher]:
    """Sees everything, the commands included (the control user may read `…/set`)."""
    watcher = Watcher(secured.port, ("deskpulse/#",), username="control", password=secured.control.password)
    watcher.wait_connected()
    yield watcher
    watcher.close()


def open_page(pages: Pages, secured: SecureBroker, **options: Any) -> Page:
    page = pages.open(page_url(secured.ws_port, secured.ws_port, node=NODE), **options)
    expect(page.locator("#conn-text")).to_have_text("Connected", timeout=15_000)
    expect(page.locator(".panel-status .status-word")).not_to_have_text(
        "Waiting for the node", timeout=15_000
    )
    return page


def sign_in(page: Page, user: str, password: str, *, remember: bool = False) -> None:
    page.get_by_role("button", name="Sign in", exact=True).first.click()
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    if remember:
        page.get_by_label("Keep me signed in on this tab").check()
    page.locator("#signin-submit").click()


def test_anonymous_viewers_are_read_only_and_see_no_frame(
    pages: Pages, secured: SecureBroker, node: Daemon
) -> None:
    page = open_page(pages, secured)
    expect(page.locator("#user-label")).to_have_text("Read-only")
    expect(page.locator(PLACEHOLDER)).to_contain_text("for signed-in viewers only", timeout=15_000)
    expect(page.locator(FRAME)).to_be_hidden()
    assert page.evaluate("id => DeskPulse.store.nodes.get(id).frame", NODE) is None
    assert page.evaluate("DeskPulse.store.diagnostics.counts.frame || 0") == 0
    expect(page.get_by_role("switch")).to_have_count(0)
    expect(page.locator(".settings-note")).to_contain_text("Read-only")
    expect(page.locator(".settings-list")).to_contain_text("Medium")
    assert node.alive()


def test_wrong_credentials_give_a_clear_message_and_change_nothing(
    pages: Pages, secured: SecureBroker, node: Daemon
) -> None:
    page = open_page(pages, secured)
    sign_in(page, "viewer", "not-the-password")
    expect(page.locator("#signin-error")).to_have_text("Wrong user name or password.")
    expect(page.locator("#signin-dialog")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#user-label")).to_have_text("Read-only")
    expect(page.locator("#conn-text")).to_have_text("Connected")  # the anonymous connection carried on
    assert page.evaluate("sessionStorage.length") == 0


def test_a_viewer_sees_the_frame_but_no_controls(pages: Pages, secured: SecureBroker, node: Daemon) -> None:
    page = open_page(pages, secured)
    sign_in(page, "viewer", secured.viewer.password)
    expect(page.locator("#signin-dialog")).to_be_hidden()
    expect(page.locator("#user-label")).to_have_text("viewer (viewer)")
    expect(page.locator(FRAME)).to_be_visible(timeout=15_000)
    assert (page.locator(FRAME).get_attribute("src") or "").startswith("blob:")
    expect(page.get_by_role("switch")).to_have_count(0)
    expect(page.locator(".settings-note")).to_contain_text("may view but not change settings")
    assert page.evaluate("sessionStorage.length") == 0  # not asked to remember: memory only
    # Signing out hides the picture again.
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#user-label")).to_have_text("Read-only")
    expect(page.locator(FRAME)).to_be_hidden()


def test_a_control_user_changes_the_nodes_settings(
    pages: Pages, secured: SecureBroker, node: Daemon, control_watcher: Watcher
) -> None:
    page = open_page(pages, secured)
    sign_in(page, "control", secured.control.password, remember=True)
    expect(page.locator("#user-label")).to_have_text("control (control)")
    frames = page.get_by_role("switch", name="Camera picture")
    expect(frames).to_have_attribute("aria-checked", "true")
    expect(page.locator(FRAME)).to_be_visible(timeout=15_000)

    mark = control_watcher.mark()
    frames.click()
    control_watcher.wait_for(f"deskpulse/{NODE}/frames/set", lambda m: m.payload == b"OFF", after=mark)
    control_watcher.wait_for(f"deskpulse/{NODE}/frames/state", lambda m: m.payload == b"OFF", after=mark)
    expect(frames).to_have_attribute("aria-checked", "false")
    expect(page.locator(PLACEHOLDER)).to_contain_text("turned off")
    frames.click()
    control_watcher.wait_for(f"deskpulse/{NODE}/frames/state", lambda m: m.payload == b"ON", after=mark)
    expect(frames).to_have_attribute("aria-checked", "true")

    minutes = page.get_by_label("Alert after (minutes)")
    minutes.fill("0")
    minutes.press("Enter")
    expect(page.locator(f"#st-{NODE}-alert_minutes")).to_have_text("Enter minutes from 1 to 240.")
    minutes.fill("15")
    minutes.press("Enter")
    control_watcher.wait_for(
        f"deskpulse/{NODE}/alert_minutes/state", lambda m: m.payload == b"15", after=mark
    )
    sent = [m.payload for m in control_watcher.on(f"deskpulse/{NODE}/alert_minutes/set")]
    assert sent == [b"15"]  # the invalid 0 never left the page

    page.get_by_role("radio", name="High").check()
    control_watcher.wait_for(
        f"deskpulse/{NODE}/sensitivity/state", lambda m: m.payload == b"high", after=mark
    )
    expect(page.get_by_role("radio", name="High")).to_be_checked()

    monitoring = page.get_by_role("switch", name="Monitoring")
    monitoring.focus()
    page.keyboard.press("Space")
    control_watcher.wait_for(f"deskpulse/{NODE}/monitoring/state", lambda m: m.payload == b"OFF", after=mark)
    expect(page.locator(".panel-status .status-word")).to_have_text("Paused")
    expect(page.locator(PLACEHOLDER)).to_contain_text("Monitoring is off")
    page.keyboard.press("Space")
    control_watcher.wait_for(f"deskpulse/{NODE}/monitoring/state", lambda m: m.payload == b"ON", after=mark)
    expect(monitoring).to_have_attribute("aria-checked", "true")

    page.get_by_role("button", name="Calibrate", exact=True).click()
    control_watcher.wait_for(
        f"deskpulse/{NODE}/calibrate/state", lambda m: m.payload == b"calibrating", after=mark
    )

    # Remembered on this tab only: a reload signs in again; signing out forgets.
    page.reload()
    expect(page.locator("#user-label")).to_have_text("control (control)", timeout=15_000)
    expect(page.get_by_role("switch", name="Monitoring")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    assert page.evaluate("sessionStorage.length") == 0
    expect(page.get_by_role("switch")).to_have_count(0)
    for setting, value in (("alert_minutes", "10"), ("sensitivity", "medium")):
        control_watcher.publish(f"deskpulse/{NODE}/{setting}/set", value)


def test_a_broker_without_anonymous_access_asks_for_sign_in(pages: Pages, tmp_path: Path) -> None:
    """allow_anonymous false: the page says sign-in is needed, and signing in connects it."""
    mosquitto_passwd = shutil.which("mosquitto_passwd")
    assert mosquitto_passwd, "mosquitto_passwd comes with mosquitto"
    folder = Path(tempfile.mkdtemp(prefix="deskpulse-pw-"))  # not under tmp_path: its parents are 0700
    try:
        folder.chmod(0o755)  # mosquitto started as root reads the file as its own user
        passwords = folder / "passwords"
        subprocess.run([mosquitto_passwd, "-c", "-b", str(passwords), "alice", "s3cret"], check=True)
        passwords.chmod(0o644)
        config = f"http_dir {DASHBOARD}\nallow_anonymous false\npassword_file {passwords}\n"
        broker = Mosquitto(tmp_path / "closed", extra_config=config).start()
        try:
            page = pages.open(page_url(broker.ws_port, broker.ws_port, user="alice"))
            expect(page.locator("#conn-text")).to_have_text("Sign-in needed", timeout=15_000)
            expect(page.locator("#empty-title")).to_have_text("This broker needs sign-in")
            expect(page.get_by_label("User name")).to_have_value("alice")  # ?user= opened the dialog
            page.get_by_label("Password").fill("s3cret")
            page.locator("#signin-submit").click()
            expect(page.locator("#conn-text")).to_have_text("Connected")
            expect(page.locator("#empty-title")).to_have_text("Waiting for DeskPulse nodes")
            expect(page.locator("#user-label")).to_have_text("alice (control)")  # no ACL: full rights
        finally:
            broker.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
