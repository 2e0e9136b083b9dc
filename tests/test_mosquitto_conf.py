"""The repository's mosquitto.conf, broker/acl and make-passwords.sh, run as they are by a real mosquitto.

Every "not delivered" check is closed by a sentinel message that the same reader does receive, so a
reader that simply missed everything cannot pass.
"""

from __future__ import annotations

import http.client
import re
import shutil
import stat
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from edge_node.config import FramesConfig
from tests.secure_broker import (
    MAKE_PASSWORDS,
    REPO_ACL,
    REPO_CONF,
    SecureBroker,
    render_config,
    secure_broker_fixture,  # noqa: F401
    secure_mosquitto,
)
from tests.support import ROOT, Daemon, Watcher, wait_until

ANONYMOUS = "anonymous"
FAST_NODE = {
    "DESKPULSE_POSTURE__AWAY_AFTER_S": "1",
    "DESKPULSE_POSTURE__BAD_AFTER_S": "1",
    "DESKPULSE_POSTURE__GOOD_AFTER_S": "0.5",
    "DESKPULSE_MQTT__KEEPALIVE": "5",
}


# --------------------------------------------------------------------------- the files themselves


def _directives(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            pairs.append((key, value.strip()))
    return pairs


def test_config_has_the_security_and_storage_the_issue_asks_for() -> None:
    directives = _directives(REPO_CONF.read_text())
    settings = dict(directives)
    assert settings["allow_anonymous"] == "true"
    assert settings["password_file"] == "broker/passwords"
    assert settings["acl_file"] == "broker/acl"
    assert settings["persistence"] == "true"
    assert settings["per_listener_settings"] == "false"
    # The largest frame a node may be configured to send still fits.
    frame_limit = next(m.le for m in FramesConfig.model_fields["max_bytes"].metadata if hasattr(m, "le"))
    assert int(settings["message_size_limit"]) >= frame_limit
    listeners = [i for i, (key, _) in enumerate(directives) if key == "listener"]
    assert [directives[i][1] for i in listeners] == ["1883", "9001"]
    websockets = directives[listeners[1] :]
    assert ("protocol", "websockets") in websockets
    assert ("socket_domain", "ipv4") in websockets  # mosquitto 2.0.11 binds every interface without it
    assert ("http_dir", "dashboard") in websockets
    # Relative paths exist in the repository, as they must for `mosquitto -c mosquitto.conf` there.
    assert (ROOT / settings["acl_file"]).is_file()
    assert (ROOT / "dashboard" / "index.html").is_file()


def test_test_brokers_differ_from_the_repository_config_only_in_listener_lines() -> None:
    original = REPO_CONF.read_text().splitlines()
    rendered = render_config(REPO_CONF.read_text(), port=1234, ws_port=5678).splitlines()
    changed = [(a, b) for a, b in zip(original, rendered, strict=True) if a != b]
    assert changed == [
        ("listener 1883", "listener 1234 127.0.0.1"),
        ("listener 9001", "listener 5678 127.0.0.1"),
    ]
    with_tls = render_config(REPO_CONF.read_text(), port=1, ws_port=2, tls_port=3).splitlines()
    uncommented = [b for a, b in zip(original, with_tls, strict=True) if a != b and a.startswith("#")]
    assert uncommented[0] == "listener 3 127.0.0.1"
    assert {line.split()[0] for line in uncommented[1:]} == {
        "certfile",
        "keyfile",
        "cafile",
        "require_certificate",
    }
    with_wss = render_config(REPO_CONF.read_text(), port=1, ws_port=2, wss_port=4).splitlines()
    uncommented = [b for a, b in zip(original, with_wss, strict=True) if a != b and a.startswith("#")]
    assert uncommented == [
        "listener 4 127.0.0.1",
        "protocol websockets",
        "socket_domain ipv4",  # as on the plain WebSockets listener: only the given address
        "http_dir dashboard",
        "certfile broker/tls/server.crt",  # the same certificate as the MQTT TLS listener
        "keyfile broker/tls/server.key",
    ]


def _run_script(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/make-passwords.sh", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def script_folder(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "broker").mkdir()
    shutil.copy2(MAKE_PASSWORDS, tmp_path / "scripts" / "make-passwords.sh")
    shutil.copy2(REPO_ACL, tmp_path / "broker" / "acl")
    shutil.copy2(REPO_CONF, tmp_path / "mosquitto.conf")
    return tmp_path


def _passwords(folder: Path) -> dict[str, str]:
    files = sorted((folder / "broker" / "credentials").glob("*.password"))
    return {path.name.removesuffix(".password"): path.read_text().strip() for path in files}


def test_make_passwords_generates_secret_hashed_passwords_and_prints_none(script_folder: Path) -> None:
    result = _run_script(script_folder, "desk1")
    assert result.returncode == 0, result.stderr
    passwords = _passwords(script_folder)
    assert sorted(passwords) == ["control", "desk1", "viewer"]
    assert len(set(passwords.values())) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{24}", pw) for pw in passwords.values())
    password_file = (script_folder / "broker" / "passwords").read_text()
    assert sorted(line.split(":")[0] for line in password_file.splitlines()) == sorted(passwords)
    assert all(line.split(":", 1)[1].startswith("$7$") for line in password_file.splitlines())
    for password in passwords.values():
        assert password not in password_file
        assert password not in result.stdout + result.stderr
    for user in passwords:
        assert f"broker/credentials/{user}.password" in result.stdout
    assert "mosquitto -c mosquitto.conf" in result.stdout
    for path in (script_folder / "broker" / "credentials").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((script_folder / "broker" / "passwords").stat().st_mode) & 0o007 == 0
    assert (script_folder / "broker" / "data").is_dir()
    assert not list((script_folder / "broker").glob("passwords.*")), "temporary plain-text file left"


def test_make_passwords_keeps_adds_rotates_and_refuses_bad_names(script_folder: Path) -> None:
    assert _run_script(script_folder, "desk1").returncode == 0
    first = _passwords(script_folder)
    assert _run_script(script_folder, "desk2").returncode == 0
    second = _passwords(script_folder)
    assert sorted(second) == ["control", "desk1", "desk2", "viewer"]
    assert {user: second[user] for user in first} == first  # adding a node keeps everyone else's
    assert _run_script(script_folder, "--rotate").returncode == 0
    rotated = _passwords(script_folder)
    assert sorted(rotated) == sorted(second)
    assert all(rotated[user] != second[user] for user in second)
    for bad, message in (("viewer", "reserved"), ("control", "reserved"), ("Desk!", "a-z, 0-9")):
        result = _run_script(script_folder, bad)
        assert result.returncode == 2
        assert message in result.stderr
    assert _passwords(script_folder) == rotated  # a refused run changes nothing


def test_generated_secrets_are_ignored_by_git() -> None:
    paths = ["broker/passwords", "broker/credentials/desk1.password", "broker/data/mosquitto.db"]
    result = subprocess.run(
        ["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.stdout.split() == paths
    tracked = subprocess.run(
        ["git", "ls-files", "broker"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [path for path in tracked if "password" in path or "credential" in path]


def test_adding_a_node_and_reloading_the_running_broker(secure_broker: SecureBroker) -> None:
    """The documented way to add a desk: run the script again, then SIGHUP (no restart)."""
    result = _run_script(secure_broker.workdir, "desk2")
    assert result.returncode == 0, result.stderr
    desk2 = (secure_broker.workdir / "broker" / "credentials" / "desk2.password").read_text().strip()
    old_control = secure_broker.control.password
    assert (secure_broker.workdir / "broker" / "credentials" / "control.password").read_text().strip() == (
        old_control
    )
    reader = _client(secure_broker, ANONYMOUS, ("deskpulse/desk2/state",))
    try:
        secure_broker.reload()

        def published() -> bool:
            writer = Watcher(secure_broker.port, (), username="desk2", password=desk2)
            try:
                if not writer.connected.wait(5):
                    return False
                writer.publish("deskpulse/desk2/state", b"hello from desk2")
                return any(m.payload == b"hello from desk2" for m in reader.on("deskpulse/desk2/state"))
            finally:
                _close([writer])

        wait_until(published, 20, interval=0.5, what="desk2 to be accepted after the reload")
        assert secure_broker.process is not None and secure_broker.process.poll() is None
    finally:
        _close([reader])


# --------------------------------------------------------------------------- the ACL, user by user


@pytest.fixture(scope="module")
def acl_broker() -> Iterator[SecureBroker]:
    with secure_mosquitto(nodes=("desk1", "desk2")) as broker:
        yield broker


def _client(broker: SecureBroker, user: str, topics: tuple[str, ...] = ()) -> Watcher:
    if user == ANONYMOUS:
        return Watcher(broker.port, topics).wait_connected()
    account = broker.users[user]
    return Watcher(broker.port, topics, username=account.username, password=account.password).wait_connected()


def _sentinel(reader: str) -> tuple[str, str]:
    """(publisher, topic) of a message `reader` is allowed to receive."""
    node = reader if reader.startswith("desk") else "desk1"
    return node, f"deskpulse/{node}/state"


def _delivered(broker: SecureBroker, writer: str, topic: str, reader: str) -> bool:
    """Does a message that `writer` publishes on `topic` reach `reader`?"""
    sentinel_user, sentinel_topic = _sentinel(reader)
    clients: list[Watcher] = []
    try:
        receiver = _client(broker, reader, (topic, sentinel_topic))
        clients.append(receiver)
        sender = _client(broker, writer)
        clients.append(sender)
        sentinel = _client(broker, sentinel_user)
        clients.append(sentinel)
        # The reader's subscription is active once a first sentinel arrives.
        deadline = time.monotonic() + 15
        while True:
            ready = uuid.uuid4().hex.encode()
            sentinel.publish(sentinel_topic, ready)
            try:
                receiver.wait_for(sentinel_topic, lambda m, token=ready: m.payload == token, timeout=1)  # type: ignore[misc]
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
        probe, done = uuid.uuid4().hex.encode(), uuid.uuid4().hex.encode()
        sender.publish(topic, probe)  # QoS 1: the broker has decided before it acknowledges
        sentinel.publish(sentinel_topic, done)
        receiver.wait_for(sentinel_topic, lambda m: m.payload == done, timeout=10)
        return any(m.payload == probe for m in receiver.on(topic))
    finally:
        _close(clients)


def _close(clients: list[Watcher]) -> None:
    """Disconnect first: paho's loop then ends at once instead of after its 1 s select."""
    for client in clients:
        client.client.disconnect()
    for client in clients:
        client.close()


ANONYMOUS_LEAVES = (
    "availability", "state", "camera", "stats", "history", "event", "info", "pose",
    "monitoring/state", "frames/state", "alert_minutes/state", "sensitivity/state", "calibrate/state",
)  # fmt: skip
ACL_CASES = [
    # (writer, topic, reader, delivered)
    *[("desk1", f"deskpulse/desk1/{leaf}", ANONYMOUS, True) for leaf in ANONYMOUS_LEAVES],
    ("desk1", "deskpulse/desk1/frame", ANONYMOUS, False),
    ("desk1", "deskpulse/desk1/frame", "viewer", True),
    ("desk1", "deskpulse/desk1/frame", "control", True),
    ("desk1", "deskpulse/desk1/frame", "desk2", False),
    ("desk1", "homeassistant/device/deskpulse_desk1/config", ANONYMOUS, False),
    ("desk1", "homeassistant/device/deskpulse_desk1/config", "control", True),
    ("desk1", "homeassistant/sensor/deskpulse_desk1/posture/config", "control", True),
    ("control", "homeassistant/status", "desk1", True),
    ("control", "homeassistant/status", ANONYMOUS, False),
    ("control", "deskpulse/desk1/monitoring/set", "desk1", True),
    ("control", "deskpulse/desk1/monitoring/set", "desk2", False),
    ("control", "deskpulse/desk1/monitoring/set", ANONYMOUS, False),
    # Nobody but the node publishes the node's state, and only control sends commands.
    (ANONYMOUS, "deskpulse/desk1/state", "control", False),
    (ANONYMOUS, "deskpulse/desk1/monitoring/set", "desk1", False),
    (ANONYMOUS, "homeassistant/status", "desk1", False),
    ("viewer", "deskpulse/desk1/state", "control", False),
    ("viewer", "deskpulse/desk1/frames/set", "desk1", False),
    ("control", "deskpulse/desk1/state", ANONYMOUS, False),
    ("desk2", "deskpulse/desk1/state", ANONYMOUS, False),
    ("desk2", "deskpulse/desk1/monitoring/set", "desk1", False),
    ("desk1", "homeassistant/device/deskpulse_desk2/config", "control", False),
    ("desk1", "homeassistant/status", "desk2", False),
    # "viewer" and "control" are not nodes, although the node patterns would match their names.
    ("viewer", "deskpulse/viewer/state", ANONYMOUS, False),
    ("control", "deskpulse/control/state", ANONYMOUS, False),
    ("viewer", "homeassistant/device/deskpulse_viewer/config", "control", False),
]


@pytest.mark.parametrize(("writer", "topic", "reader", "expected"), ACL_CASES)
def test_acl(acl_broker: SecureBroker, writer: str, topic: str, reader: str, expected: bool) -> None:
    assert _delivered(acl_broker, writer, topic, reader) is expected


def test_mqtt5_publisher_is_told_a_denied_publish_is_not_authorized(acl_broker: SecureBroker) -> None:
    results: list[str] = []
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.on_publish = lambda _c, _u, _mid, reason, _p: results.append(str(reason))
    client.connect("127.0.0.1", acl_broker.port)
    client.loop_start()
    try:
        client.publish("deskpulse/desk1/monitoring/set", b"OFF", qos=1).wait_for_publish(10)
        wait_until(lambda: results, 10, what="PUBACK")
    finally:
        client.loop_stop()
        client.disconnect()
    assert results == ["Not authorized"]


def test_websockets_listener_binds_only_the_configured_address(acl_broker: SecureBroker) -> None:
    def listening(table: str) -> list[str]:
        rows = Path(table).read_text().splitlines()[1:]
        return [row.split()[1] for row in rows if row.split()[3] == "0A"]  # 0A = LISTEN

    port = f":{acl_broker.ws_port:04X}"
    v4 = [address for address in listening("/proc/net/tcp") if address.endswith(port)]
    v6 = [address for address in listening("/proc/net/tcp6") if address.endswith(port)]
    assert v4 == [f"0100007F{port}"]  # 127.0.0.1 only, not 0.0.0.0
    assert v6 == []


def test_dashboard_is_served_over_http_on_the_websockets_port(acl_broker: SecureBroker) -> None:
    def get(path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", acl_broker.ws_port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    assert get("/") == (200, (ROOT / "dashboard" / "index.html").read_bytes())
    assert get("/no-such-file.js")[0] == 404
    # The broker's own files sit beside http_dir: nothing outside it is served.
    for path in ("/../mosquitto.conf", "/../broker/acl", "/%2e%2e/broker/acl", "/..%2fbroker%2facl"):
        status, body = get(path)
        assert status != 200 or (b"acl_file" not in body and b"pattern" not in body), path


# --------------------------------------------------------------------------- the real node on it


def _watch(broker: SecureBroker, user: str | None, *, transport: str = "tcp") -> Watcher:
    port = broker.ws_port if transport == "websockets" else broker.port
    topics = ("deskpulse/#", "deskpulse/desk1/frame")
    if user is None:
        return Watcher(port, topics, transport=transport).wait_connected()
    account = broker.users[user]
    return Watcher(
        port, topics, username=account.username, password=account.password, transport=transport
    ).wait_connected()


@pytest.mark.slow
def test_node_with_its_credentials_anonymous_reads_state_but_never_frames(
    secure_broker: SecureBroker, photos: dict[str, Path], daemon_factory: Callable[..., Daemon],
    tmp_path: Path,
) -> None:  # fmt: skip
    watchers = {
        "anonymous tcp": _watch(secure_broker, None),
        "anonymous websockets": _watch(secure_broker, None, transport="websockets"),
        "viewer websockets": _watch(secure_broker, "viewer", transport="websockets"),
        "control tcp": _watch(secure_broker, "control"),
    }
    try:
        daemon = daemon_factory(
            "--source", str(photos["astronaut"]), "--loop", *secure_broker.node_args(),
            "--data-dir", str(tmp_path / "data"), env={**FAST_NODE, **secure_broker.node_env()},
        )  # fmt: skip
        for name, watcher in watchers.items():
            online = watcher.wait_for("deskpulse/desk1/availability", lambda m: m.payload == b"online", 60)
            assert online, name
            state = watcher.wait_for("deskpulse/desk1/state", lambda m: m.json()["present"] is True, 60)
            assert state.json()["node"] == "desk1", name
            info = watcher.wait_for("deskpulse/desk1/info", timeout=10).json()
            assert info["config"]["mqtt"]["username"] == "desk1", name
        for name in ("viewer websockets", "control tcp"):
            frame = watchers[name].wait_for("deskpulse/desk1/frame", lambda m: len(m.payload) > 0, 30)
            assert frame.payload[:2] == b"\xff\xd8", name
        # A setting change published after those frames closes the window for the anonymous readers.
        mark = {name: watcher.mark() for name, watcher in watchers.items()}
        watchers["control tcp"].publish("deskpulse/desk1/sensitivity/set", "high")
        for name, watcher in watchers.items():
            watcher.wait_for("deskpulse/desk1/sensitivity/state", lambda m: m.payload == b"high", 20,
                             after=mark[name])  # fmt: skip
        for name in ("anonymous tcp", "anonymous websockets"):
            assert not [m for m in watchers[name].on("deskpulse/desk1/frame") if m.payload], name
        # An anonymous command never reaches the node: nothing changes and nothing is even rejected.
        mark = {name: watcher.mark() for name, watcher in watchers.items()}
        watchers["anonymous tcp"].publish("deskpulse/desk1/sensitivity/set", "low")
        watchers["anonymous tcp"].publish("deskpulse/desk1/monitoring/set", "OFF")
        watchers["anonymous tcp"].publish("deskpulse/desk1/state", '{"posture": "good"}', retain=True)
        watchers["control tcp"].publish("deskpulse/desk1/alert_minutes/set", "12")
        control = watchers["control tcp"]
        control.wait_for("deskpulse/desk1/alert_minutes/state", lambda m: m.payload == b"12", 20,
                         after=mark["control tcp"])  # fmt: skip
        after = control.messages[mark["control tcp"] :]
        assert not [m for m in after if m.topic.endswith(("sensitivity/state", "monitoring/state"))]
        assert not [m for m in after if m.topic.endswith("/event")]
        assert not [m for m in after if m.topic.endswith("/state") and m.payload.startswith(b'{"posture"')]
        assert daemon.alive()
        late = _watch(secure_broker, None)
        try:
            state = late.wait_for("deskpulse/desk1/state", timeout=10)
            assert state.retain
            assert state.json()["node"] == "desk1"  # the anonymous retained fake never landed
        finally:
            late.close()
    finally:
        _close(list(watchers.values()))


@pytest.mark.slow
def test_wrong_password_is_refused_with_a_clear_log_line_and_retried(
    secure_broker: SecureBroker, photos: dict[str, Path], daemon_factory: Callable[..., Daemon],
    tmp_path: Path,
) -> None:  # fmt: skip
    wrong = "Wr0ng-" + uuid.uuid4().hex[:12]
    control = _watch(secure_broker, "control")
    try:
        daemon = daemon_factory(
            "--source", str(photos["coffee"]), "--loop", "--node-id", "desk1",
            "--broker", f"mqtt://desk1:{wrong}@127.0.0.1:{secure_broker.port}",
            "--data-dir", str(tmp_path / "data"), env=FAST_NODE,
        )  # fmt: skip
        line = wait_until(
            lambda: next((ln for ln in daemon.log().splitlines() if "refused the connection" in ln), None),
            60,
            what="the refusal log line",
        )
        assert "Not authorized" in line
        assert "check the user name and password" in line
        assert f"desk1:***@127.0.0.1:{secure_broker.port}" in line
        started = time.monotonic()
        time.sleep(8)
        assert daemon.alive()
        refusals = [ln for ln in daemon.log().splitlines() if "refused the connection" in ln]
        assert 2 <= len(refusals) <= (time.monotonic() - started) + 3  # retried, at most ~1 line a second
        assert wrong not in daemon.log()
        assert not control.on("deskpulse/desk1/availability")
        assert "not authorised" in secure_broker.log()
    finally:
        control.close()
