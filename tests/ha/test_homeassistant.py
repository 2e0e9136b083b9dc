"""The real daemon, on a real photo, seen through a real Home Assistant (MQTT discovery).

One Home Assistant, one mosquitto and one node serve the whole module; the tests run in file order
and each leaves the node running with its default settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_node import __version__
from edge_node.config import Config
from edge_node.mqtt import discovery
from edge_node.mqtt.discovery import discovery_messages
from edge_node.payloads import Event
from tests.ha.harness import HomeAssistant
from tests.ha.scenario import (
    DASHBOARD_URL,
    DEVICE_NAME,
    ENTITIES,
    KEEPALIVE_S,
    NODE,
    Node,
    example_automations,
)
from tests.support import ROOT, Mosquitto, Watcher, wait_until

# The first test also installs Home Assistant when the cache is cold (about two minutes).
pytestmark = [pytest.mark.ha, pytest.mark.slow, pytest.mark.timeout(900)]

WAIT_S = 45.0
MONITORING = "switch.deskpulse_ha_desk_monitoring"
POSTURE = "sensor.deskpulse_ha_desk_posture"
CAMERA = "camera.deskpulse_ha_desk_camera"
ALERT = "event.deskpulse_ha_desk_alert"


@pytest.fixture(scope="module")
def node(
    home_assistant: HomeAssistant,
    ha_broker: Mosquitto,
    photos: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Node]:
    """The real daemon on a photo of a person, publishing to Home Assistant's broker."""
    subject = Node(tmp_path_factory.mktemp("ha-node"), ha_broker, photos["astronaut"])
    subject.start()
    try:
        subject.watcher.wait_for(
            subject.topic("state"), lambda m: m.json()["posture"] in ("good", "bad"), timeout=90
        )
        yield subject
    finally:
        subject.close()


def wait_state(ha: HomeAssistant, entity_id: str, expected: str, timeout: float = WAIT_S) -> None:
    try:
        wait_until(lambda: ha.state(entity_id) == expected, timeout, interval=0.2)
    except AssertionError:
        raise AssertionError(
            f"{entity_id} is {ha.state(entity_id)!r}, not {expected!r}, after {timeout} s; "
            f"the device's states: {device_states(ha)}"
        ) from None


def device_states(ha: HomeAssistant) -> dict[str, str]:
    states = ha.states()
    return {eid: states[eid]["state"] for eid in ENTITIES if eid in states}


# --------------------------------------------------------------------------- discovery


def test_entities_appear_with_ids_device_and_states(home_assistant: HomeAssistant, node: Node) -> None:
    ha = home_assistant
    wait_until(lambda: set(device_states(ha)) == set(ENTITIES), WAIT_S, what="every entity in HA")

    device = ha.device(DEVICE_NAME)
    assert device is not None
    assert device["identifiers"] == [["mqtt", f"deskpulse_{NODE}"]]
    assert (device["manufacturer"], device["model"]) == ("DeskPulse", "DeskPulse Edge")
    assert device["sw_version"] == __version__
    assert device["configuration_url"] == DASHBOARD_URL

    registry = ha.device_entities(DEVICE_NAME)
    assert set(registry) == set(ENTITIES), "every entity belongs to the one device"
    for entity_id, category in ENTITIES.items():
        entry = registry[entity_id]
        key = entity_id.split(".", 1)[1].removeprefix("deskpulse_ha_desk_")
        assert entry["unique_id"] == f"deskpulse_{NODE}_{key}"
        assert entry["entity_category"] == category, entity_id

    # States come from the node's retained topics: compare with what the node published.
    published = node.state()
    assert published["present"] is True  # MediaPipe found the astronaut
    posture = published["posture"]
    wait_state(ha, POSTURE, posture)
    wait_state(ha, "binary_sensor.deskpulse_ha_desk_bad_posture", "on" if posture == "bad" else "off")
    wait_state(ha, "binary_sensor.deskpulse_ha_desk_presence", "on")
    wait_state(ha, MONITORING, "on")
    wait_state(ha, "switch.deskpulse_ha_desk_frames", "on")
    wait_state(ha, "number.deskpulse_ha_desk_alert_minutes", "10")
    wait_state(ha, "select.deskpulse_ha_desk_sensitivity", "medium")
    wait_state(ha, "select.deskpulse_ha_desk_rotation", "0")
    wait_state(ha, "number.deskpulse_ha_desk_cpu_budget", "0.25")
    wait_state(ha, "sensor.deskpulse_ha_desk_calibration", "uncalibrated")
    wait_state(ha, "sensor.deskpulse_ha_desk_camera_state", "connected")
    assert ha.state(ALERT) == "unknown"  # no alert yet

    def stats_match() -> bool:
        latest = node.latest("stats")
        if latest is None:
            return False
        stats = latest.json()
        if stats["inference_ms"] is None:
            return False  # no frame processed when these stats were made; wait for the next
        expected = {
            "sensor.deskpulse_ha_desk_good_minutes": round(stats["today"]["good_s"] / 60, 1),
            "sensor.deskpulse_ha_desk_bad_minutes": round(stats["today"]["bad_s"] / 60, 1),
            "sensor.deskpulse_ha_desk_fps": stats["pipeline_fps"],
            "sensor.deskpulse_ha_desk_dropped_frames": stats["dropped_frames"],
            "sensor.deskpulse_ha_desk_inference_ms": stats["inference_ms"],
        }
        return all(_number(ha.state(eid)) == value for eid, value in expected.items())

    wait_until(stats_match, WAIT_S, interval=0.5, what="HA's stats sensors = the node's last stats")


def _number(text: str | None) -> float:
    try:
        return float(text) if text is not None else float("nan")
    except ValueError:
        return float("nan")


def test_camera_returns_the_published_jpeg(home_assistant: HomeAssistant, node: Node) -> None:
    frame = node.watcher.wait_for(node.topic("frame"), lambda m: len(m.payload) > 0, timeout=WAIT_S)
    assert frame.payload[:3] == b"\xff\xd8\xff"

    def proxied_is_latest() -> bool:
        status, body = home_assistant.camera_image(CAMERA)
        latest = node.latest("frame")
        return status == 200 and latest is not None and body == latest.payload

    wait_until(proxied_is_latest, WAIT_S, interval=0.3, what="camera_proxy = the node's last frame")


def test_event_entity_fires_on_alerts_only(home_assistant: HomeAssistant, node: Node) -> None:
    ha = home_assistant
    mark = node.watcher.mark()
    # A real event from the node: a rejected command must not fire the alert entity.
    node.watcher.publish(node.topic("frames/set"), "MAYBE")
    node.watcher.wait_for(
        node.topic("event"),
        lambda m: m.json()["event_type"] == "command_rejected",
        timeout=WAIT_S,
        after=mark,
    )
    time.sleep(1.0)
    assert ha.state(ALERT) == "unknown"
    # The alert itself takes alert_minutes of bad posture; its payload is the node's Event model.
    alert = Event(node=NODE, event_type="posture_alert", ts=time.time(), message="sit up", details={})
    node.watcher.publish(node.topic("event"), alert.model_dump_json())
    wait_until(lambda: ha.state(ALERT) not in (None, "unknown"), WAIT_S, what="the alert event")
    attributes = ha.states()[ALERT]["attributes"]
    assert attributes["event_type"] == "posture_alert"
    assert attributes["message"] == "sit up"
    # The example automation in docs/ha-automations.yaml turns it into a notification.
    notification = wait_until(
        lambda: next(
            (
                n
                for n in ha.ws("persistent_notification/get")
                if n["notification_id"] == "deskpulse_ha_desk_alert"
            ),
            None,
        ),
        WAIT_S,
        what="the example automation's notification",
    )
    assert (notification["title"], notification["message"]) == ("Sit up straight", "sit up")


def test_the_example_automations_load(home_assistant: HomeAssistant) -> None:
    ids = [
        line.split(":", 1)[1].strip()
        for line in example_automations().splitlines()
        if line.startswith("- id:")
    ]
    assert len(ids) == 3
    automations = {
        s["attributes"].get("id"): s["state"]
        for s in home_assistant.states().values()
        if s["entity_id"].startswith("automation.")
    }
    assert {i: automations.get(i) for i in ids} == dict.fromkeys(ids, "on")


# --------------------------------------------------------------------------- commands


def _command(
    ha: HomeAssistant, node: Node, call: tuple[str, str, dict[str, Any]], setting: str, payload: str
) -> tuple[float, float]:
    """Call a service on a DeskPulse entity; seconds until the node published `payload` on
    `<setting>/state`, and until Home Assistant's entity shows it."""
    domain, service, data = call
    entity_id = data["entity_id"]
    before = ha.state(entity_id)
    mark = node.watcher.mark()
    started = time.monotonic()
    ha.call(domain, service, **data)
    node.watcher.wait_for(
        node.topic(f"{setting}/state"), lambda m: m.payload == payload.encode(), timeout=WAIT_S, after=mark
    )
    at_node = time.monotonic() - started
    if domain == "button":
        return at_node, float("nan")  # a button's state is the time it was pressed
    wait_until(lambda: ha.state(entity_id) != before, WAIT_S, interval=0.02, what=f"{entity_id} to change")
    return at_node, time.monotonic() - started


def test_commands_from_home_assistant(home_assistant: HomeAssistant, node: Node) -> None:
    ha = home_assistant
    select = "select.deskpulse_ha_desk_sensitivity"
    number = "number.deskpulse_ha_desk_alert_minutes"
    budget = "number.deskpulse_ha_desk_cpu_budget"
    latencies = {
        "sensitivity": _command(
            ha,
            node,
            ("select", "select_option", {"entity_id": select, "option": "high"}),
            "sensitivity",
            "high",
        ),
        "alert_minutes": _command(
            ha, node, ("number", "set_value", {"entity_id": number, "value": 15}), "alert_minutes", "15"
        ),
        "cpu_budget": _command(
            ha, node, ("number", "set_value", {"entity_id": budget, "value": 0.5}), "cpu_budget", "0.5"
        ),
    }
    assert (ha.state(select), ha.state(number), ha.state(budget)) == ("high", "15", "0.5")

    press = ("button", "press", {"entity_id": "button.deskpulse_ha_desk_calibrate"})
    latencies["calibrate"] = _command(ha, node, press, "calibrate", "calibrating")
    result = node.watcher.wait_for(
        node.topic("calibrate/state"), lambda m: m.payload != b"calibrating", timeout=WAIT_S
    )
    wait_state(ha, "sensor.deskpulse_ha_desk_calibration", result.payload.decode())

    mark = node.watcher.mark()
    turn_off = ("switch", "turn_off", {"entity_id": MONITORING})
    latencies["monitoring"] = _command(ha, node, turn_off, "monitoring", "OFF")
    assert ha.state(MONITORING) == "off"
    # Paused: the state says so and the node let go of the camera.
    node.watcher.wait_for(
        node.topic("state"), lambda m: m.json()["posture"] == "paused", timeout=WAIT_S, after=mark
    )
    node.watcher.wait_for(
        node.topic("camera"), lambda m: m.json()["state"] == "paused", timeout=WAIT_S, after=mark
    )
    wait_state(ha, POSTURE, "paused")
    wait_state(ha, "binary_sensor.deskpulse_ha_desk_presence", "off")
    wait_state(ha, "sensor.deskpulse_ha_desk_camera_state", "paused")
    print(
        "\nHA service call -> node's …/state, -> HA entity state (s):",
        {name: (round(node_s, 3), round(ha_s, 3)) for name, (node_s, ha_s) in latencies.items()},
    )

    # Back to the defaults for the tests that follow.
    mark = node.watcher.mark()
    ha.call("switch", "turn_on", entity_id=MONITORING)
    ha.call("select", "select_option", entity_id=select, option="medium")
    ha.call("number", "set_value", entity_id=number, value=10)
    wait_state(ha, MONITORING, "on")
    wait_state(ha, number, "10")
    wait_state(ha, select, "medium")
    node.watcher.wait_for(
        node.topic("state"), lambda m: m.json()["posture"] in ("good", "bad"), timeout=90, after=mark
    )


# --------------------------------------------------------------------------- lifecycle


def test_restarting_home_assistant_brings_every_entity_back(
    home_assistant: HomeAssistant, node: Node
) -> None:
    ha = home_assistant
    wait_until(
        lambda: ha.state(POSTURE) in ("good", "bad") and ha.state(POSTURE) == node.state()["posture"],
        WAIT_S,
        what="HA's posture = the node's steady posture",
    )
    before = device_states(ha)
    assert set(before) == set(ENTITIES)
    log_before = node.daemon.log() if node.daemon else ""

    ha.stop()
    ha.start()
    wait_until(lambda: set(device_states(ha)) == set(ENTITIES), WAIT_S, what="every entity back in HA")
    # Settings and posture come back with the values they had (retained + republished on birth).
    for entity_id in (
        POSTURE,
        MONITORING,
        "select.deskpulse_ha_desk_sensitivity",
        "switch.deskpulse_ha_desk_frames",
    ):
        wait_state(ha, entity_id, before[entity_id])
    after = device_states(ha)
    assert not [eid for eid, state in after.items() if state == "unavailable"]
    assert after["sensor.deskpulse_ha_desk_calibration"] == before["sensor.deskpulse_ha_desk_calibration"]
    # The node heard HA's birth message and republished (after its random 1-5 s delay).
    assert node.daemon is not None
    wait_until(
        lambda: (
            node.daemon is not None
            and node.daemon.log().count("Home Assistant came online")
            > log_before.count("Home Assistant came online")
        ),
        WAIT_S,
        what="the node to republish on HA's birth message",
    )


def test_killing_the_node_makes_every_entity_unavailable(home_assistant: HomeAssistant, node: Node) -> None:
    ha = home_assistant
    assert node.daemon is not None
    wait_until(lambda: "unavailable" not in device_states(ha).values(), WAIT_S, what="every entity available")
    node.daemon.kill()  # SIGKILL: no goodbye; the broker publishes the node's Last Will
    wait_until(
        lambda: set(device_states(ha).values()) == {"unavailable"},
        KEEPALIVE_S * 1.5 + WAIT_S,
        interval=0.3,
        what="every entity unavailable after the Last Will",
    )
    node.start()
    wait_until(
        lambda: "unavailable" not in device_states(ha).values(), 90, what="every entity available again"
    )


def test_switching_to_per_component_discovery_and_back(
    home_assistant: HomeAssistant, node: Node, ha_broker: Mosquitto
) -> None:
    ha = home_assistant
    device_topic = f"homeassistant/device/deskpulse_{NODE}/config"
    posture_topic = f"homeassistant/sensor/deskpulse_{NODE}/posture/config"
    registry_before = ha.device_entities(DEVICE_NAME)

    node.stop()
    node.start(DESKPULSE_HOMEASSISTANT__MODE="components")
    wait_until(
        lambda: _retained(ha_broker, posture_topic) and not _retained(ha_broker, device_topic),
        WAIT_S,
        what="per-component configs retained and the device config cleared",
    )
    wait_until(lambda: "unavailable" not in device_states(ha).values(), 90, what="entities available")
    registry = ha.device_entities(DEVICE_NAME)
    assert set(registry) == set(ENTITIES)
    assert {e["unique_id"] for e in registry.values()} == {e["unique_id"] for e in registry_before.values()}
    # The node republishes when HA announces itself: the cleared device config must not come again
    # (HA would process it as a removal of entities that now live on other topics, and warn).
    log_lines = len(ha.log().splitlines())
    announce_home_assistant(node)
    time.sleep(2.0)
    complaints = [line for line in ha.log().splitlines()[log_lines:] if "WARNING" in line or "ERROR" in line]
    assert not complaints, "\n".join(complaints)

    node.stop()
    node.start()
    wait_until(
        lambda: _retained(ha_broker, device_topic) and not _retained(ha_broker, posture_topic),
        WAIT_S,
        what="the device config retained and the per-component configs cleared",
    )
    wait_until(lambda: "unavailable" not in device_states(ha).values(), 90, what="entities available")
    assert set(ha.device_entities(DEVICE_NAME)) == set(ENTITIES)


def announce_home_assistant(node: Node) -> None:
    """Home Assistant's birth message, and wait for the node to republish (after 1-5 s)."""
    assert node.daemon is not None
    daemon = node.daemon
    before = daemon.log().count("Home Assistant came online")
    node.watcher.publish("homeassistant/status", "online")
    wait_until(
        lambda: daemon.log().count("Home Assistant came online") > before,
        WAIT_S,
        what="the node to republish",
    )


def _retained(broker: Mosquitto, topic: str) -> bytes:
    """The retained message on `topic` right now (b'' if none)."""
    result = subprocess.run(
        [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(broker.port),
            "-t",
            topic,
            "--retained-only",
            "-W",
            "1",
        ],
        capture_output=True,
        timeout=15,
        check=False,
    )
    return result.stdout.strip()


def test_retired_components_are_removed_from_home_assistant(
    home_assistant: HomeAssistant, ha_broker: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What RETIRED_COMPONENTS relies on: `{"p": platform}` in `cmps` removes that entity only."""
    ha = home_assistant
    config = Config.model_validate({"node_id": "retire-test"})
    publisher = Watcher(ha_broker.port, ()).wait_connected()
    (message,) = discovery_messages(config, version=__version__)
    payload = json.loads(message.payload)
    payload["cmps"]["old_sensor"] = {
        "p": "sensor",
        "name": "Old",
        "unique_id": "deskpulse_retire-test_old_sensor",
        "object_id": "deskpulse_retire_test_old_sensor",
        "state_topic": "deskpulse/retire-test/state",
    }
    publisher.publish(message.topic, json.dumps(payload), retain=True)
    old, kept = "sensor.deskpulse_retire_test_old_sensor", "sensor.deskpulse_retire_test_posture"
    wait_until(lambda: ha.state(old) and ha.state(kept), WAIT_S, what="the device with its old sensor")

    monkeypatch.setattr(discovery, "RETIRED_COMPONENTS", {"old_sensor": "sensor"})
    (message,) = discovery_messages(config, version=__version__)
    publisher.publish(message.topic, message.payload, retain=True)
    wait_until(lambda: ha.state(old) is None, WAIT_S, what="the retired sensor to go")
    assert ha.state(kept) is not None
    publisher.publish(message.topic, b"", retain=True)
    wait_until(lambda: ha.state(kept) is None, WAIT_S, what="the test device to go")
    publisher.close()


def test_forget_removes_the_device(home_assistant: HomeAssistant, node: Node, ha_broker: Mosquitto) -> None:
    ha = home_assistant
    wait_until(lambda: ha.device(DEVICE_NAME) is not None, WAIT_S, what="the device in HA")
    node.stop()
    result = subprocess.run(
        [sys.executable, "-m", "edge_node", "forget", "--config", str(node.config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "not running" in result.stdout
    wait_until(lambda: not device_states(ha), WAIT_S, what="every entity gone from HA")
    wait_until(lambda: ha.device(DEVICE_NAME) is None, WAIT_S, what="the device gone from HA")
    assert not _retained(ha_broker, f"deskpulse/{NODE}/#")
    assert not _retained(ha_broker, "homeassistant/#")


def test_home_assistant_listens_on_loopback_only(home_assistant: HomeAssistant) -> None:
    addresses = home_assistant.listening_addresses()
    assert f"127.0.0.1:{home_assistant.port}" in addresses
    assert all(address.startswith("127.0.0.1:") for address in addresses), addresses
    problems = [
        line
        for line in home_assistant.log().splitlines()
        if " ERROR " in line or ("WARNING" in line and "mqtt" in line)
    ]
    assert not problems, "\n".join(problems)


def _pretty(data: object) -> str:
    return json.dumps(data, indent=1, sort_keys=True)
