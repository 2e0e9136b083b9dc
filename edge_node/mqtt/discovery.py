"""Home Assistant MQTT discovery: one device per node, its entities, and removal of stale configs.

Two layouts (`homeassistant.mode`):
- `device` (Home Assistant 2024.11+): one retained config on `<prefix>/device/deskpulse_<node>/config`
  with every entity under `cmps`, sharing device, origin and availability.
- `components` (older installations): one retained config per entity on
  `<prefix>/<platform>/deskpulse_<node>/<key>/config`, each carrying device, origin and availability.

Both give the same discovery ids (`deskpulse_<node> <key>`), unique ids and entity ids, so a switch
between them keeps the entities' ids and history. Entity ids are predictable on old and new Home
Assistant: `object_id` (read up to 2025.9) and `default_entity_id` (read from 2025.10).

What the node published is recorded in its data dir; at start-up `discovery_cleanup` clears (empty
retained config) whatever an earlier run published and this configuration no longer offers.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from edge_node.config import Config
from edge_node.datadir import JsonStore
from edge_node.mqtt.message import Message
from edge_node.mqtt.topics import DiscoveryTopics, NodeTopics
from edge_node.vocabulary import (
    ALERT_EVENT_TYPES,
    ALERT_MINUTES_MAX,
    ALERT_MINUTES_MIN,
    CALIBRATION_STATES,
    CAMERA_STATES,
    CPU_BUDGET_MAX,
    CPU_BUDGET_MIN,
    POSTURES,
    ROTATIONS,
    SENSITIVITIES,
)

log = logging.getLogger(__name__)

DISCOVERY_FILE: Final = "discovery"
MANUFACTURER: Final = "DeskPulse"
MODEL: Final = "DeskPulse Edge"
ORIGIN_NAME: Final = "DeskPulse Edge"
Platform = Literal["sensor", "binary_sensor", "camera", "event", "switch", "number", "select", "button"]
EntityCategory = Literal["config", "diagnostic"]

# A heartbeat-fed entity turns `unavailable` after this many missed heartbeats (and never sooner
# than EXPIRE_MIN_S): the node is hung even though its connection, and so its availability, live.
EXPIRE_HEARTBEATS: Final = 3
EXPIRE_MIN_S: Final = 60
# Entities that earlier releases offered inside the device config and this one does not, as
# key -> platform: kept in `cmps` as `{"p": platform}`, which tells Home Assistant to remove them.
RETIRED_COMPONENTS: Final[dict[str, Platform]] = {}


class Discovery(BaseModel):
    """Base of discovery payloads: unknown keys are errors, so a typo fails a test, not HA silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DeviceInfo(Discovery):
    """Home Assistant's `device` block."""

    identifiers: tuple[str, ...]
    name: str
    manufacturer: str = MANUFACTURER
    model: str = MODEL
    sw_version: str
    configuration_url: str | None = None


class OriginInfo(Discovery):
    """Home Assistant's `origin` block: what published the config (shown in HA's logs)."""

    name: str = ORIGIN_NAME
    sw_version: str


class Component(Discovery):
    """One entity's config: an entry of `cmps`, or the whole payload of a per-component topic."""

    platform: Platform | None = Field(None, serialization_alias="p")
    name: str | None = None
    unique_id: str | None = None
    object_id: str | None = None
    default_entity_id: str | None = None
    icon: str | None = None
    entity_category: EntityCategory | None = None
    enabled_by_default: bool | None = None
    device_class: str | None = None
    state_class: Literal["measurement", "total", "total_increasing"] | None = None
    unit_of_measurement: str | None = None
    suggested_display_precision: int | None = None
    options: tuple[str, ...] | None = None
    event_types: tuple[str, ...] | None = None
    topic: str | None = None
    state_topic: str | None = None
    value_template: str | None = None
    json_attributes_topic: str | None = None
    json_attributes_template: str | None = None
    expire_after: int | None = None
    command_topic: str | None = None
    payload_on: str | None = None
    payload_off: str | None = None
    payload_press: str | None = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    mode: Literal["auto", "box", "slider"] | None = None
    qos: int | None = None
    availability_topic: str | None = None
    device: DeviceInfo | None = None
    origin: OriginInfo | None = None


class DeviceDiscovery(Discovery):
    """The device-based config: device, origin and availability shared by every component."""

    device: DeviceInfo = Field(serialization_alias="dev")
    origin: OriginInfo = Field(serialization_alias="o")
    components: dict[str, Component] = Field(serialization_alias="cmps")
    availability_topic: str


class PublishedDiscovery(BaseModel):
    """What the node last published under the discovery prefix (kept in the data dir)."""

    model_config = ConfigDict(extra="forbid")

    v: int = 1
    topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entity:
    """One entity of the node: its key (part of every id), platform and platform options."""

    key: str
    platform: Platform
    options: Component


def entity_slug(text: str) -> str:
    """What Home Assistant makes of an object id in an entity id (`my-desk` → `my_desk`)."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def unique_id(node_id: str, key: str) -> str:
    """`deskpulse_<node>_<key>`: the entity's stable id (the device id plus the key)."""
    return f"{DiscoveryTopics(node_id).device_id}_{key}"


def object_id(node_id: str, key: str) -> str:
    """The unique id as Home Assistant would slug it into an entity id."""
    return entity_slug(unique_id(node_id, key))


def entity_id(node_id: str, platform: str, key: str) -> str:
    """The entity id Home Assistant gives the entity, e.g. `sensor.deskpulse_desk_posture`."""
    return f"{platform}.{object_id(node_id, key)}"


def _expire_after(interval_s: float) -> int:
    """Seconds without a message after which Home Assistant shows the entity unavailable."""
    return max(EXPIRE_MIN_S, math.ceil(EXPIRE_HEARTBEATS * interval_s))


def _or_none(expression: str) -> str:
    """A template giving `expression`, or `None` (Home Assistant's 'unknown') when it is null."""
    return f"{{{{ {expression} if {expression} is not none else 'None' }}}}"


def entities(config: Config) -> list[Entity]:
    """Every entity the node offers, in the order Home Assistant lists them."""
    topics = NodeTopics(config.node_id)
    state_expiry = _expire_after(config.posture.heartbeat_s)
    stats_expiry = _expire_after(config.stats.publish_interval_s)

    def state(**options: Any) -> Component:
        """Fed by the `state` heartbeat."""
        return Component(state_topic=topics.state, expire_after=state_expiry, **options)

    def stats(**options: Any) -> Component:
        """Fed by the periodic `stats`."""
        return Component(state_topic=topics.stats, expire_after=stats_expiry, **options)

    minutes = "{{{{ (value_json.today.{field} / 60) | round(1) }}}}"
    return [
        Entity(
            "posture",
            "sensor",
            state(
                name="Posture",
                icon="mdi:human-handsup",
                device_class="enum",
                options=POSTURES,
                value_template="{{ value_json.posture }}",
                json_attributes_topic=topics.state,
                json_attributes_template=(
                    "{{ {'reason': value_json.reason, 'bad_for_s': value_json.bad_for_s, "
                    "'since': value_json.since, 'view': value_json.view, "
                    "'confidence': value_json.confidence, 'calibrated': value_json.calibrated, "
                    "'calibration_recommended': value_json.calibration_recommended} | tojson }}"
                ),
            ),
        ),
        Entity(
            "bad_posture",
            "binary_sensor",
            state(
                name="Bad posture",
                device_class="problem",
                value_template="{{ 'ON' if value_json.posture == 'bad' else 'OFF' }}",
            ),
        ),
        Entity(
            "presence",
            "binary_sensor",
            state(
                name="Presence",
                device_class="occupancy",
                value_template="{{ 'ON' if value_json.present else 'OFF' }}",
            ),
        ),
        Entity(
            "score",
            "sensor",
            stats(
                name="Score today",
                icon="mdi:chart-donut",
                state_class="measurement",
                unit_of_measurement="%",
                suggested_display_precision=0,
                value_template=_or_none("value_json.today.score"),
            ),
        ),
        Entity(
            "good_minutes",
            "sensor",
            stats(
                name="Good posture today",
                device_class="duration",
                state_class="total_increasing",
                unit_of_measurement="min",
                suggested_display_precision=0,
                value_template=minutes.format(field="good_s"),
            ),
        ),
        Entity(
            "bad_minutes",
            "sensor",
            stats(
                name="Bad posture today",
                device_class="duration",
                state_class="total_increasing",
                unit_of_measurement="min",
                suggested_display_precision=0,
                value_template=minutes.format(field="bad_s"),
            ),
        ),
        Entity("camera", "camera", Component(name="Camera", topic=topics.frame)),
        Entity(
            "alert",
            "event",
            Component(
                name="Posture alert",
                icon="mdi:bell-ring",
                state_topic=topics.event,
                event_types=ALERT_EVENT_TYPES,
                # The event topic carries other events too (calibrated, command_rejected, …):
                # rendering nothing makes Home Assistant skip them quietly.
                value_template=(
                    "{% if value_json.event_type in "
                    + repr(list(ALERT_EVENT_TYPES))
                    + " %}{{ value }}{% endif %}"
                ),
            ),
        ),
        Entity(
            "monitoring",
            "switch",
            Component(
                name="Monitoring",
                icon="mdi:eye",
                state_topic=topics.setting_state("monitoring"),
                command_topic=topics.setting_set("monitoring"),
                payload_on="ON",
                payload_off="OFF",
            ),
        ),
        Entity(
            "frames",
            "switch",
            Component(
                name="Frames",
                icon="mdi:image-multiple",
                entity_category="config",
                state_topic=topics.setting_state("frames"),
                command_topic=topics.setting_set("frames"),
                payload_on="ON",
                payload_off="OFF",
            ),
        ),
        Entity(
            "alert_minutes",
            "number",
            Component(
                name="Alert after",
                icon="mdi:timer-alert",
                entity_category="config",
                state_topic=topics.setting_state("alert_minutes"),
                command_topic=topics.setting_set("alert_minutes"),
                min=ALERT_MINUTES_MIN,
                max=ALERT_MINUTES_MAX,
                step=1,
                mode="box",
                unit_of_measurement="min",
            ),
        ),
        Entity(
            "sensitivity",
            "select",
            Component(
                name="Sensitivity",
                icon="mdi:tune-variant",
                entity_category="config",
                state_topic=topics.setting_state("sensitivity"),
                command_topic=topics.setting_set("sensitivity"),
                options=SENSITIVITIES,
            ),
        ),
        Entity(
            "rotation",
            "select",
            Component(
                name="Camera rotation",
                icon="mdi:phone-rotate-landscape",
                entity_category="config",
                state_topic=topics.setting_state("rotation"),
                command_topic=topics.setting_set("rotation"),
                options=tuple(str(r) for r in ROTATIONS),
            ),
        ),
        Entity(
            "cpu_budget",
            "number",
            Component(
                name="CPU budget",
                icon="mdi:chip",
                entity_category="config",
                state_topic=topics.setting_state("cpu_budget"),
                command_topic=topics.setting_set("cpu_budget"),
                min=CPU_BUDGET_MIN,
                max=CPU_BUDGET_MAX,
                step=0.05,
                mode="box",
                unit_of_measurement="cores",
            ),
        ),
        Entity(
            "calibrate",
            "button",
            Component(
                name="Calibrate",
                icon="mdi:target-account",
                entity_category="config",
                command_topic=topics.setting_set("calibrate"),
                payload_press="PRESS",
            ),
        ),
        Entity(
            "calibration",
            "sensor",
            Component(
                name="Calibration",
                icon="mdi:target-account",
                entity_category="diagnostic",
                device_class="enum",
                options=CALIBRATION_STATES,
                state_topic=topics.setting_state("calibrate"),
            ),
        ),
        Entity(
            "camera_state",
            "sensor",
            Component(
                name="Camera status",
                icon="mdi:webcam",
                entity_category="diagnostic",
                device_class="enum",
                options=CAMERA_STATES,
                state_topic=topics.camera,
                value_template="{{ value_json.state }}",
                json_attributes_topic=topics.camera,
                json_attributes_template=(
                    "{{ {'source': value_json.source, "
                    "'error': value_json.error.message if value_json.error else none, "
                    "'hint': value_json.error.hint if value_json.error else none} | tojson }}"
                ),
            ),
        ),
        Entity(
            "fps",
            "sensor",
            stats(
                name="Processed frame rate",
                icon="mdi:speedometer",
                entity_category="diagnostic",
                state_class="measurement",
                unit_of_measurement="fps",
                suggested_display_precision=1,
                value_template="{{ value_json.pipeline_fps }}",
            ),
        ),
        Entity(
            "inference_ms",
            "sensor",
            stats(
                name="Inference time",
                entity_category="diagnostic",
                device_class="duration",
                state_class="measurement",
                unit_of_measurement="ms",
                suggested_display_precision=1,
                value_template=_or_none("value_json.inference_ms"),
            ),
        ),
        Entity(
            "dropped_frames",
            "sensor",
            stats(
                name="Dropped frames",
                icon="mdi:image-off",
                entity_category="diagnostic",
                state_class="total_increasing",
                value_template="{{ value_json.dropped_frames }}",
            ),
        ),
    ]


def _configuration_url(url: str | None) -> str | None:
    """The dashboard URL if Home Assistant will accept it (else it rejects the whole device)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    log.warning("dashboard_url %r is not an http(s) URL; Home Assistant gets no link to it", url)
    return None


def device_info(config: Config, *, version: str, dashboard_url: str | None = None) -> DeviceInfo:
    """The device block shared by every entity."""
    return DeviceInfo(
        identifiers=(DiscoveryTopics(config.node_id).device_id,),
        name=config.display_name,
        sw_version=version,
        configuration_url=_configuration_url(dashboard_url or config.dashboard_url),
    )


def _component(config: Config, entity: Entity) -> Component:
    """The entity's config with its ids."""
    ids = {
        "unique_id": unique_id(config.node_id, entity.key),
        "object_id": object_id(config.node_id, entity.key),
        "default_entity_id": entity_id(config.node_id, entity.platform, entity.key),
        "qos": 1,
    }
    return entity.options.model_copy(update=ids)


def _payload(model: BaseModel) -> bytes:
    """Compact JSON with Home Assistant's abbreviations where the models declare them."""
    return model.model_dump_json(by_alias=True, exclude_none=True).encode()


def discovery_messages(config: Config, *, version: str, dashboard_url: str | None = None) -> list[Message]:
    """Retained discovery configs for this node; `dashboard_url` overrides the config's."""
    ha = config.homeassistant
    if not ha.enabled:
        return []
    topics = DiscoveryTopics(config.node_id, ha.discovery_prefix)
    device = device_info(config, version=version, dashboard_url=dashboard_url)
    origin = OriginInfo(sw_version=version)
    availability = NodeTopics(config.node_id).availability
    if ha.mode == "device":
        components = {
            entity.key: _component(config, entity).model_copy(update={"platform": entity.platform})
            for entity in entities(config)
        }
        for key, platform in RETIRED_COMPONENTS.items():
            components[key] = Component(platform=platform)
        payload = DeviceDiscovery(
            device=device, origin=origin, components=components, availability_topic=availability
        )
        return [Message(topics.device_config, _payload(payload), qos=1, retain=True)]
    messages = []
    for entity in entities(config):
        component = _component(config, entity).model_copy(
            update={"device": device, "origin": origin, "availability_topic": availability}
        )
        topic = topics.component_config(entity.platform, entity.key)
        messages.append(Message(topic, _payload(component), qos=1, retain=True))
    return messages


def discovery_topics(config: Config) -> list[str]:
    """The config topics `discovery_messages` publishes for this config."""
    return [message.topic for message in discovery_messages(config, version="")]


def clear_messages(topics: Iterable[str]) -> list[Message]:
    """Empty retained messages: the broker drops the retained config, Home Assistant the entity."""
    return [Message(topic, b"", qos=1, retain=True) for topic in topics]


def discovery_cleanup(config: Config, store: JsonStore) -> list[Message]:
    """Empty retained configs for what an earlier run published and this config no longer offers."""
    # A switch between device and components mode, a new prefix or node id with the same data dir,
    # or homeassistant.enabled = false. Published before discovery_messages; records what is offered.
    offered = discovery_topics(config)
    previous = store.load(DISCOVERY_FILE, PublishedDiscovery)
    stale = [topic for topic in (previous.topics if previous else ()) if topic not in offered]
    if stale:
        log.info("removing %d discovery config(s) this configuration no longer offers", len(stale))
    if previous is None or tuple(offered) != previous.topics:
        store.save(DISCOVERY_FILE, PublishedDiscovery(topics=tuple(offered)))
    return clear_messages(stale)
