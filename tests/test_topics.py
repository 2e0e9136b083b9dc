"""The topic tree (pure)."""

from __future__ import annotations

import pytest

from edge_node.mqtt.topics import DiscoveryTopics, NodeTopics, all_nodes
from edge_node.vocabulary import slugify_node_id


def test_node_topics() -> None:
    t = NodeTopics("desk-1")
    assert t.state == "deskpulse/desk-1/state"
    assert t.availability == "deskpulse/desk-1/availability"
    assert t.setting_set("monitoring") == "deskpulse/desk-1/monitoring/set"
    assert t.setting_state("alert_minutes") == "deskpulse/desk-1/alert_minutes/state"
    assert t.set_wildcard == "deskpulse/desk-1/+/set"
    assert t.everything == "deskpulse/desk-1/#"
    assert all_nodes("state") == "deskpulse/+/state"
    assert all_nodes() == "deskpulse/#"


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("deskpulse/desk-1/monitoring/set", "monitoring"),
        ("deskpulse/desk-1/bogus/set", "bogus"),
        ("deskpulse/desk-2/monitoring/set", None),
        ("deskpulse/desk-1/monitoring/state", None),
        ("deskpulse/desk-1/a/b/set", None),
        ("deskpulse/desk-1//set", None),
    ],
)
def test_parse_set(topic: str, expected: str | None) -> None:
    assert NodeTopics("desk-1").parse_set(topic) == expected


@pytest.mark.parametrize("bad", ["Desk", "desk 1", "", "desk/1", "d#", "d+"])
def test_invalid_node_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="must match"):
        NodeTopics(bad)


def test_slug_and_parse() -> None:
    assert slugify_node_id("Kitchen Pi.local") == "kitchen-pi-local"
    assert slugify_node_id("!!!") == "desk"
    assert NodeTopics("a1").owns("deskpulse/a1/state")
    assert not NodeTopics("a1").owns("deskpulse/a10/state")
    assert not NodeTopics("a1").owns("other/a1/state")


def test_discovery_topics() -> None:
    d = DiscoveryTopics("desk-1")
    assert d.device_config == "homeassistant/device/deskpulse_desk-1/config"
    assert d.component_config("sensor", "posture") == "homeassistant/sensor/deskpulse_desk-1/posture/config"
    assert d.status == "homeassistant/status"
