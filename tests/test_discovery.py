"""Home Assistant discovery payloads and stale-config cleanup: pure, no broker, no Home Assistant."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from edge_node.config import Config
from edge_node.datadir import JsonStore
from edge_node.mqtt import discovery
from edge_node.mqtt.commands import Command, parse_command
from edge_node.mqtt.discovery import (
    DISCOVERY_FILE,
    Component,
    PublishedDiscovery,
    discovery_cleanup,
    discovery_messages,
    discovery_topics,
)
from edge_node.mqtt.topics import NodeTopics
from edge_node.vocabulary import (
    ALERT_MINUTES_MAX,
    ALERT_MINUTES_MIN,
    SETTINGS,
    CameraStateName,
    Posture,
    Sensitivity,
)

VERSION = "1.2.3"

# key -> (platform, entity_category); the public list in docs/homeassistant.md.
EXPECTED = {
    "posture": ("sensor", None),
    "bad_posture": ("binary_sensor", None),
    "presence": ("binary_sensor", None),
    "score": ("sensor", None),
    "good_minutes": ("sensor", None),
    "bad_minutes": ("sensor", None),
    "camera": ("camera", None),
    "alert": ("event", None),
    "monitoring": ("switch", None),
    "frames": ("switch", "config"),
    "alert_minutes": ("number", "config"),
    "sensitivity": ("select", "config"),
    "rotation": ("select", "config"),
    "cpu_budget": ("number", "config"),
    "calibrate": ("button", "config"),
    "calibration": ("sensor", "diagnostic"),
    "camera_state": ("sensor", "diagnostic"),
    "fps": ("sensor", "diagnostic"),
    "inference_ms": ("sensor", "diagnostic"),
    "dropped_frames": ("sensor", "diagnostic"),
}


def make_config(tmp_path: Path | None = None, **overrides: Any) -> Config:
    data: dict[str, Any] = {"node_id": "desk"}
    if tmp_path is not None:
        data["data_dir"] = str(tmp_path / "data")
    data.update(overrides)
    return Config.model_validate(data)


def device_payload(config: Config, **kwargs: Any) -> dict[str, Any]:
    (message,) = discovery_messages(config, version=VERSION, **kwargs)
    return dict(json.loads(message.payload))


# --------------------------------------------------------------------------- device mode


def test_device_mode_is_one_retained_config_with_every_entity() -> None:
    config = make_config(name="Study desk")
    (message,) = discovery_messages(config, version=VERSION)
    assert message.topic == "homeassistant/device/deskpulse_desk/config"
    assert (message.retain, message.qos) == (True, 1)
    payload = json.loads(message.payload)
    assert payload["dev"] == {
        "identifiers": ["deskpulse_desk"],
        "name": "Study desk",
        "manufacturer": "DeskPulse",
        "model": "DeskPulse Edge",
        "sw_version": VERSION,
    }
    assert payload["o"] == {"name": "DeskPulse Edge", "sw_version": VERSION}
    assert payload["availability_topic"] == "deskpulse/desk/availability"
    assert {key: (c["p"], c.get("entity_category")) for key, c in payload["cmps"].items()} == EXPECTED


@pytest.mark.parametrize(
    ("node_id", "entity_id"),
    [
        ("desk", "sensor.deskpulse_desk_posture"),
        ("my-desk", "sensor.deskpulse_my_desk_posture"),
        ("desk__2", "sensor.deskpulse_desk_2_posture"),
        ("desk-", "sensor.deskpulse_desk_posture"),
        ("0", "sensor.deskpulse_0_posture"),
    ],
)
def test_entity_ids_are_predictable_on_old_and_new_home_assistant(node_id: str, entity_id: str) -> None:
    component = device_payload(make_config(node_id=node_id))["cmps"]["posture"]
    assert component["default_entity_id"] == entity_id  # read by HA 2025.10+
    assert "sensor." + component["object_id"] == entity_id  # read by HA up to 2025.9
    assert component["unique_id"] == f"deskpulse_{node_id}_posture"


def test_every_component_has_stable_ids_and_qos_1() -> None:
    for key, component in device_payload(make_config(node_id="a-b"))["cmps"].items():
        assert component["unique_id"] == f"deskpulse_a-b_{key}"
        assert component["object_id"] == f"deskpulse_a_b_{key}"
        assert component["default_entity_id"] == f"{component['p']}.deskpulse_a_b_{key}"
        assert component["qos"] == 1
        assert component["name"]


def test_enum_options_match_the_payload_contract() -> None:
    cmps = device_payload(make_config())["cmps"]
    assert tuple(cmps["posture"]["options"]) == get_args(Posture)
    assert cmps["posture"]["device_class"] == "enum"
    assert tuple(cmps["sensitivity"]["options"]) == get_args(Sensitivity)
    assert tuple(cmps["camera_state"]["options"]) == get_args(CameraStateName)
    assert cmps["alert"]["event_types"] == ["posture_alert", "posture_corrected"]
    assert (cmps["bad_posture"]["device_class"], cmps["presence"]["device_class"]) == ("problem", "occupancy")
    assert cmps["score"]["unit_of_measurement"] == "%"


def test_camera_takes_the_raw_frame_topic() -> None:
    camera = device_payload(make_config())["cmps"]["camera"]
    assert camera["topic"] == "deskpulse/desk/frame"
    assert "image_encoding" not in camera  # raw JPEG bytes, never base64


@pytest.mark.parametrize(
    ("heartbeat_s", "stats_s", "state_expiry", "stats_expiry"), [(30, 30, 90, 90), (5, 1, 60, 60)]
)
def test_heartbeat_fed_entities_expire(
    heartbeat_s: float, stats_s: float, state_expiry: int, stats_expiry: int
) -> None:
    config = make_config(posture={"heartbeat_s": heartbeat_s}, stats={"publish_interval_s": stats_s})
    cmps = device_payload(config)["cmps"]
    state_fed = {k for k, c in cmps.items() if c.get("state_topic") == "deskpulse/desk/state"}
    stats_fed = {k for k, c in cmps.items() if c.get("state_topic") == "deskpulse/desk/stats"}
    assert state_fed == {"posture", "bad_posture", "presence"}
    assert stats_fed == {"score", "good_minutes", "bad_minutes", "fps", "inference_ms", "dropped_frames"}
    for key, component in cmps.items():
        expected = state_expiry if key in state_fed else stats_expiry if key in stats_fed else None
        assert component.get("expire_after") == expected, key


def test_command_entities_send_what_the_node_accepts() -> None:
    topics = NodeTopics("desk")
    cmps = device_payload(make_config())["cmps"]
    commands = {key: c for key, c in cmps.items() if "command_topic" in c}
    assert set(commands) == set(SETTINGS)
    for key, component in commands.items():
        setting = topics.parse_set(component["command_topic"])
        assert setting == key
        if key != "calibrate":
            assert component["state_topic"] == topics.setting_state(key)  # type: ignore[arg-type]
    sent = [
        ("monitoring", cmps["monitoring"]["payload_on"]),
        ("monitoring", cmps["monitoring"]["payload_off"]),
        ("frames", cmps["frames"]["payload_on"]),
        ("calibrate", cmps["calibrate"]["payload_press"]),
        ("alert_minutes", f"{cmps['alert_minutes']['min']:g}"),
        ("alert_minutes", f"{cmps['alert_minutes']['max']:g}"),
        *(("sensitivity", option) for option in cmps["sensitivity"]["options"]),
        *(("rotation", option) for option in cmps["rotation"]["options"]),
        ("cpu_budget", f"{cmps['cpu_budget']['min']:g}"),
        ("cpu_budget", f"{cmps['cpu_budget']['max']:g}"),
    ]
    for setting, payload in sent:
        assert isinstance(parse_command(setting, payload.encode()), Command), (setting, payload)
    assert (cmps["alert_minutes"]["min"], cmps["alert_minutes"]["max"]) == (
        ALERT_MINUTES_MIN,
        ALERT_MINUTES_MAX,
    )
    calibration = cmps["calibration"]
    assert calibration["state_topic"] == topics.setting_state("calibrate")


# --------------------------------------------------------------------------- device info


def test_configuration_url_points_at_the_dashboard() -> None:
    config = make_config(dashboard_url="https://desk.example/dash/?node=desk")
    assert device_payload(config)["dev"]["configuration_url"] == "https://desk.example/dash/?node=desk"
    embedded = "http://127.0.0.1:8080/?broker=ws://127.0.0.1:9001"
    assert device_payload(make_config(), dashboard_url=embedded)["dev"]["configuration_url"] == embedded
    assert "configuration_url" not in device_payload(make_config())["dev"]


def test_a_configuration_url_home_assistant_would_reject_is_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="edge_node.mqtt.discovery"):
        payload = device_payload(make_config(dashboard_url="desk.local:8080"))
    assert "configuration_url" not in payload["dev"]
    assert "not an http(s) URL" in caplog.text


# --------------------------------------------------------------------------- components mode


def test_components_mode_has_one_config_per_entity_with_the_same_ids() -> None:
    device = device_payload(make_config())["cmps"]
    messages = discovery_messages(make_config(homeassistant={"mode": "components"}), version=VERSION)
    assert len(messages) == len(EXPECTED)
    for message in messages:
        prefix, platform, node, key, last = message.topic.split("/")
        assert (prefix, node, last) == ("homeassistant", "deskpulse_desk", "config")
        assert message.retain
        payload = json.loads(message.payload)
        assert EXPECTED[key][0] == platform
        assert "p" not in payload
        assert payload["device"]["identifiers"] == ["deskpulse_desk"]
        assert payload["origin"]["sw_version"] == VERSION
        assert payload["availability_topic"] == "deskpulse/desk/availability"
        shared = {k: v for k, v in device[key].items() if k != "p"}
        assert {k: v for k, v in payload.items() if k in shared} == shared


def test_discovery_prefix_and_disabled() -> None:
    config = make_config(homeassistant={"discovery_prefix": "ha"})
    assert discovery_topics(config) == ["ha/device/deskpulse_desk/config"]
    assert discovery_messages(make_config(homeassistant={"enabled": False}), version=VERSION) == []


def test_retired_components_are_removed_from_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discovery, "RETIRED_COMPONENTS", {"old_sensor": "sensor"})
    cmps = device_payload(make_config())["cmps"]
    assert cmps["old_sensor"] == {"p": "sensor"}  # platform only: Home Assistant removes the entity


def test_a_typo_in_a_discovery_key_fails() -> None:
    with pytest.raises(ValidationError, match="unit_of_measurment"):
        Component.model_validate({"unit_of_measurment": "%"})


# --------------------------------------------------------------------------- cleanup


def cleanup(tmp_path: Path, **overrides: Any) -> list[str]:
    config = make_config(tmp_path, **overrides)
    messages = discovery_cleanup(config, JsonStore(config.data_dir))
    assert all(m.payload == b"" and m.retain and m.qos == 1 for m in messages)
    return [m.topic for m in messages]


def test_first_start_clears_nothing_and_records_what_it_offers(tmp_path: Path) -> None:
    assert cleanup(tmp_path) == []
    record = JsonStore(tmp_path / "data").load(DISCOVERY_FILE, PublishedDiscovery)
    assert record is not None
    assert record.topics == ("homeassistant/device/deskpulse_desk/config",)
    assert cleanup(tmp_path) == []


def test_switching_modes_clears_the_other_layout(tmp_path: Path) -> None:
    cleanup(tmp_path)
    components = cleanup(tmp_path, homeassistant={"mode": "components"})
    assert components == ["homeassistant/device/deskpulse_desk/config"]
    back = cleanup(tmp_path)
    assert sorted(back) == sorted(discovery_topics(make_config(homeassistant={"mode": "components"})))
    assert len(back) == len(EXPECTED)


def test_disabling_home_assistant_clears_everything(tmp_path: Path) -> None:
    cleanup(tmp_path, homeassistant={"mode": "components"})
    cleared = cleanup(tmp_path, homeassistant={"enabled": False, "mode": "components"})
    assert len(cleared) == len(EXPECTED)
    assert cleanup(tmp_path, homeassistant={"enabled": False}) == []


def test_a_new_prefix_or_node_id_clears_the_old_configs(tmp_path: Path) -> None:
    cleanup(tmp_path)
    assert cleanup(tmp_path, homeassistant={"discovery_prefix": "ha"}) == [
        "homeassistant/device/deskpulse_desk/config"
    ]
    assert cleanup(tmp_path, node_id="desk-2", homeassistant={"discovery_prefix": "ha"}) == [
        "ha/device/deskpulse_desk/config"
    ]


def test_an_unreadable_record_is_set_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / f"{DISCOVERY_FILE}.json").write_text("{not json")
    with caplog.at_level(logging.WARNING):
        assert cleanup(tmp_path) == []
    assert "not valid" in caplog.text
    assert JsonStore(tmp_path / "data").load(DISCOVERY_FILE, PublishedDiscovery) is not None
