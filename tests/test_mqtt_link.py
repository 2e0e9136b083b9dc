"""The MQTT link against real brokers: protocol fallback, retained republish, will, expiry."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import paho.mqtt.client as paho
import pytest

from edge_node.config import BrokerAddress, EmbeddedBrokerConfig
from edge_node.mqtt.broker import EmbeddedBroker
from edge_node.mqtt.link import MqttLink
from edge_node.mqtt.message import Message
from tests.support import Mosquitto, Watcher, free_port


@pytest.fixture
def amqtt() -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker(
        EmbeddedBrokerConfig(mqtt_port=free_port(), ws_port=free_port(), http_port=0), dashboard_dir=None
    )
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def links() -> Iterator[Callable[..., MqttLink]]:
    made: list[MqttLink] = []

    def make(port: int, **kwargs: object) -> MqttLink:
        link = MqttLink(
            BrokerAddress("127.0.0.1", port, tls=False),
            client_id=f"test-{len(made)}-{time.monotonic_ns()}",
            availability_topic="deskpulse/t1/availability",
            **kwargs,  # type: ignore[arg-type]
        )
        made.append(link)
        return link

    yield make
    for link in made:
        link.stop()


def test_mqtt5_on_mosquitto_and_retained_frame_expires(
    mosquitto: Mosquitto, links: Callable[..., MqttLink], watcher_factory: Callable[..., Watcher]
) -> None:
    link = links(mosquitto.port)
    link.start()
    assert link.wait_connected(10)
    assert link.protocol_name == "5"
    link.publish(Message("deskpulse/t1/frame", b"\xff\xd8jpeg", qos=0, retain=True, expiry_s=1))
    link.publish(Message("deskpulse/t1/state", b"{}", retain=True))
    early = watcher_factory(mosquitto.port, ("deskpulse/t1/#",), protocol=paho.MQTTv5).wait_connected()
    assert early.wait_for("deskpulse/t1/frame", timeout=5).payload == b"\xff\xd8jpeg"
    time.sleep(2.5)
    late = watcher_factory(mosquitto.port, ("deskpulse/t1/#",), protocol=paho.MQTTv5).wait_connected()
    late.wait_for("deskpulse/t1/state", timeout=5)
    time.sleep(0.5)
    assert late.on("deskpulse/t1/frame") == []  # the broker dropped the expired retained frame


def test_falls_back_to_311_on_amqtt_and_subscribes(
    amqtt: EmbeddedBroker, links: Callable[..., MqttLink], watcher_factory: Callable[..., Watcher]
) -> None:
    received: list[tuple[str, bytes, bool]] = []
    link = links(
        amqtt.addresses.mqtt_port,
        subscriptions=["deskpulse/t1/+/set"],
        on_command=lambda t, p, r: received.append((t, p, r)),
    )
    link.start()
    assert link.wait_connected(15)
    assert link.protocol_name == "3.1.1"
    watcher = watcher_factory(amqtt.addresses.mqtt_port).wait_connected()
    assert watcher.wait_for("deskpulse/t1/availability", timeout=5).payload == b"online"
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        watcher.publish("deskpulse/t1/monitoring/set", b"OFF")
        time.sleep(0.3)
    assert received[0] == ("deskpulse/t1/monitoring/set", b"OFF", False)


def test_messages_published_offline_arrive_after_connect(
    mosquitto: Mosquitto, links: Callable[..., MqttLink], watcher_factory: Callable[..., Watcher]
) -> None:
    mosquitto.stop()
    link = links(mosquitto.port)
    link.start()
    link.publish(Message("deskpulse/t1/state", b"old", retain=True))
    link.publish(Message("deskpulse/t1/state", b"new", retain=True))
    link.publish(Message("deskpulse/t1/event", b"e1", retain=False))
    assert not link.connected
    mosquitto.start()
    watcher = watcher_factory(mosquitto.port).wait_connected()
    assert link.wait_connected(15)
    assert watcher.wait_for("deskpulse/t1/event", timeout=10).payload == b"e1"
    assert watcher.wait_for("deskpulse/t1/state", timeout=10).payload == b"new"
    assert [m.payload for m in watcher.on("deskpulse/t1/state")] == [b"new"]


def test_clean_stop_publishes_offline(
    mosquitto: Mosquitto, links: Callable[..., MqttLink], watcher_factory: Callable[..., Watcher]
) -> None:
    link = links(mosquitto.port)
    link.start()
    assert link.wait_connected(10)
    watcher = watcher_factory(mosquitto.port).wait_connected()
    watcher.wait_for("deskpulse/t1/availability", lambda m: m.payload == b"online", timeout=5)
    link.stop()
    assert watcher.wait_for("deskpulse/t1/availability", lambda m: m.payload == b"offline", timeout=5)


def test_embedded_broker_sends_only_the_retained_messages_a_client_asked_for(
    amqtt: EmbeddedBroker, watcher_factory: Callable[..., Watcher]
) -> None:
    port = amqtt.addresses.mqtt_port
    publisher = watcher_factory(port, ()).wait_connected()
    publisher.publish("deskpulse/t1/state", b"S", retain=True)
    publisher.publish("deskpulse/t1/frame", b"\xff\xd8", retain=True)
    first = watcher_factory(port, ("deskpulse/t1/frame",)).wait_connected()
    first.wait_for("deskpulse/t1/frame", timeout=5)
    first.close()
    second = watcher_factory(port, ("deskpulse/t1/state",)).wait_connected()
    second.wait_for("deskpulse/t1/state", timeout=5)
    time.sleep(1.0)
    assert [m.topic for m in second.messages] == ["deskpulse/t1/state"]
