"""The one module that owns the MQTT client lifecycle (paho-mqtt 2.x).

- MQTT 5 first, MQTT 3.1.1 when the broker refuses 5 (the embedded amqtt 0.12 does).
- The Last Will (`offline`, retained) is set before every connect; `online` is published on every
  connect, followed by every retained message published so far, so a broker restart or a
  reconnect leaves the retained topics correct.
- `publish()` never blocks: paho queues the packet and its network thread writes it.
- paho callbacks only validate and hand over (`on_command`); they never touch camera or model.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge_node.config import BrokerAddress, MqttConfig
from edge_node.errors import EdgeNodeError
from edge_node.mqtt.message import Message

log = logging.getLogger(__name__)

# MQTT 5 CONNACK "Unsupported Protocol Version"; paho also maps a 3.1.1 refusal code 1 to it.
UNSUPPORTED_PROTOCOL = 132
# amqtt 0.12 never answers an MQTT 5 CONNECT that carries a will (it stalls parsing the v5 will
# properties), so a missing CONNACK on an open socket also means "try 3.1.1".
CONNACK_TIMEOUT_S = 5.0
MAX_PENDING_EVENTS = 100
MAX_QUEUED_QOS1 = 1000


@dataclass(frozen=True)
class TlsOptions:
    """Client-side TLS for mqtts://."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False

    @classmethod
    def from_config(cls, mqtt: MqttConfig) -> TlsOptions:
        """The TLS files and options of the `[mqtt]` config."""
        return cls(mqtt.ca_file, mqtt.cert_file, mqtt.key_file, mqtt.tls_insecure)


class LinkError(EdgeNodeError):
    """The link cannot be set up (e.g. unreadable TLS files)."""


class BrokerUnreachable(LinkError):
    """Nothing answered at the broker's address (refused, unknown host, timed out): not a TLS problem."""


MqttProtocol = Literal["auto", "5", "3.1.1"]
CommandHandler = Callable[[str, bytes, bool], None]


def new_client(
    address: BrokerAddress,
    *,
    client_id: str = "",
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311,
    tls: TlsOptions | None = None,
) -> paho.Client:
    """A paho 2.x client with the address's credentials and, for mqtts://, TLS; raise LinkError."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
    if address.username is not None:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        options = tls or TlsOptions()
        try:
            client.tls_set(
                ca_certs=str(options.ca_file) if options.ca_file else None,
                certfile=str(options.cert_file) if options.cert_file else None,
                keyfile=str(options.key_file) if options.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        except (OSError, ssl.SSLError) as exc:
            raise LinkError(f"cannot load TLS files: {exc}") from exc
        client.tls_insecure_set(options.insecure)
    return client


def tool_client(address: BrokerAddress, tls: TlsOptions | None = None) -> paho.Client:
    """A plain MQTT 3.1.1 client with the node's credentials and TLS, for short command-line jobs.

    3.1.1 because both mosquitto and the embedded amqtt speak it.
    """
    return new_client(address, tls=tls)


TOOL_ANSWER_TIMEOUT_S = 10.0


def connect_tool(
    address: BrokerAddress, tls: TlsOptions | None = None, *, timeout: float = TOOL_ANSWER_TIMEOUT_S
) -> paho.Client:
    """A tool client the broker has accepted (CONNACK), its network loop running; raise LinkError.

    The error is one line for a person: unreadable TLS files, a broker that cannot be reached or
    whose certificate fails, one that refuses the user name or password, or one that never answers.
    """
    client = tool_client(address, tls)
    answered = threading.Event()
    outcome: list[str] = []

    def on_connect(_c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if reason.is_failure:
            outcome.append(describe_refusal(address, reason))
        answered.set()

    def on_disconnect(_c: paho.Client, _u: Any, _f: Any, _reason: Any, _p: Any) -> None:
        if not answered.is_set():
            outcome.append(f"broker {address.redacted()} closed the connection before accepting it")
            answered.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    try:
        client.connect(address.host, address.port, keepalive=30)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        why = f"cannot connect to broker {address.redacted()}: {describe_connect_error(exc)}"
        if isinstance(exc, ssl.SSLError | ssl.CertificateError | ValueError):
            raise LinkError(why) from exc
        raise BrokerUnreachable(why) from exc
    client.loop_start()
    if not answered.wait(timeout):
        outcome.append(f"broker {address.redacted()} did not answer within {timeout:.0f} s")
    if outcome:
        client.loop_stop()
        with contextlib.suppress(OSError):
            client.disconnect()
        raise LinkError(outcome[0])
    return client


class Outbox:
    """What the link sends again: the last retained message of each topic, and events held while offline."""

    def __init__(self, announce_first: Callable[[str], bool]) -> None:
        self._announce_first = announce_first
        self._retained: dict[str, tuple[Message, float]] = {}
        self._held: deque[Message] = deque(maxlen=MAX_PENDING_EVENTS)

    def remember(self, message: Message) -> None:
        """Keep a retained message to send again on every connect."""
        self._retained[message.topic] = (message, time.monotonic())

    def forget(self, topic: str) -> None:
        """Stop sending a topic again (its retained message was deleted)."""
        self._retained.pop(topic, None)

    def hold(self, message: Message) -> None:
        """Keep a non-retained message (an event) until the next connect; the oldest go first when full."""
        self._held.append(message)

    def take_held(self) -> list[Message]:
        """The held messages, oldest first, emptying the hold."""
        held = list(self._held)
        self._held.clear()
        return held

    def retained(self, *, first: bool | None = None) -> list[Message]:
        """Retained messages to send again; `first` picks those announced before `online` (True) or after.

        A message past its expiry is left out: a stale frame is worse than none.
        """
        now = time.monotonic()
        return [
            message
            for message, published_at in self._retained.values()
            if (first is None or self._announce_first(message.topic) == first)
            and (message.expiry_s is None or now - published_at <= message.expiry_s)
        ]


class PublishFailures:
    """Counts publishes paho refused and logs one line a minute at most (a full send queue would
    otherwise log every state and frame)."""

    def __init__(self, interval_s: float = 60.0) -> None:
        self._interval_s = interval_s
        self._logged_at: float | None = None
        self.count = 0

    def report(self, topic: str, rc: int) -> None:
        """One more failed publish."""
        self.count += 1
        now = time.monotonic()
        if self._logged_at is not None and now - self._logged_at < self._interval_s:
            return
        self._logged_at = now
        log.error("publish to %s failed: %s (%d failed so far)", topic, paho.error_string(rc), self.count)


class MqttLink:
    """A self-reconnecting MQTT connection that keeps the node's retained topics correct."""

    def __init__(
        self,
        address: BrokerAddress,
        *,
        client_id: str,
        availability_topic: str,
        subscriptions: Iterable[str] = (),
        on_command: CommandHandler | None = None,
        on_connected: Callable[[], None] | None = None,
        keepalive: int = 15,
        protocol: MqttProtocol = "auto",
        tls: TlsOptions | None = None,
        reconnect_max_s: int = 4,
        announce_first: Callable[[str], bool] = lambda _topic: False,
    ) -> None:
        self._address = address
        self._client_id = client_id
        self._availability = availability_topic
        self._subscriptions = tuple(subscriptions)
        self._on_command = on_command
        self._on_connected = on_connected
        self._keepalive = keepalive
        self._protocol = MQTTProtocolVersion.MQTTv311 if protocol == "3.1.1" else MQTTProtocolVersion.MQTTv5
        self._fallback_allowed = protocol == "auto"
        self._tls = tls if address.tls else None
        self._reconnect_max_s = reconnect_max_s
        self._lock = threading.RLock()
        self._outbox = Outbox(announce_first)
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._rebuild = threading.Event()
        self._client: paho.Client | None = None
        self._thread = threading.Thread(target=self._supervise, name="mqtt-link", daemon=True)
        self._failed_attempts = 0
        self._socket_opened_at: float | None = None
        self._answered = False  # the broker sent a CONNACK on the current socket
        self._publish_failures = PublishFailures()
        if self._tls:
            self._make_client(self._protocol)  # fail early on unreadable TLS files

    # ------------------------------------------------------------------ public

    @property
    def connected(self) -> bool:
        """True while the broker has accepted the connection."""
        return self._connected.is_set()

    @property
    def protocol_name(self) -> str:
        """`5` or `3.1.1`: the protocol in use (or tried next)."""
        return "5" if self._protocol == MQTTProtocolVersion.MQTTv5 else "3.1.1"

    def set_subscriptions(self, topics: Iterable[str]) -> None:
        """Topics to subscribe to on every connect (set before start())."""
        self._subscriptions = tuple(topics)

    def start(self) -> None:
        """Start connecting (in the background; it reconnects by itself)."""
        self._thread.start()

    def wait_connected(self, timeout: float) -> bool:
        """Wait up to `timeout` s for a connection; True if connected."""
        return self._connected.wait(timeout)

    def publish(self, message: Message) -> None:
        """Send now if connected; retained messages are also kept and re-sent on every connect."""
        with self._lock:
            if message.retain:
                self._outbox.remember(message)
            client = self._client
            if not self.connected or client is None:
                if not message.retain:
                    self._outbox.hold(message)
                return
            self._send(client, message)

    def republish(self) -> None:
        """Re-send every retained message (e.g. when Home Assistant comes online)."""
        with self._lock:
            client = self._client
            if client is None or not self.connected:
                return
            self._send_all(client, self._outbox.retained())

    def stop(self, timeout: float = 2.0) -> None:
        """Publish `offline` (retained), disconnect cleanly and stop the network thread."""
        self._stopping.set()
        with self._lock:
            client = self._client
            if client is not None and self.connected:
                info = client.publish(self._availability, b"offline", qos=1, retain=True)
                with contextlib.suppress(RuntimeError, ValueError):
                    info.wait_for_publish(timeout / 2)
        if client is not None:
            client.disconnect()
        self._rebuild.set()
        self._thread.join(timeout)

    # ------------------------------------------------------------------ internals

    def _send(self, client: paho.Client, message: Message) -> None:
        properties = None
        if self._protocol == MQTTProtocolVersion.MQTTv5 and (message.expiry_s or message.content_type):
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            if message.expiry_s:
                properties.MessageExpiryInterval = message.expiry_s
            if message.content_type:
                properties.ContentType = message.content_type
        info = client.publish(
            message.topic, message.payload, qos=message.qos, retain=message.retain, properties=properties
        )
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            self._publish_failures.report(message.topic, info.rc)
        elif info.rc == paho.MQTT_ERR_SUCCESS and message.retain and not message.payload:
            # An empty retained message deletes the retained one; sent once, it has done its job
            # (re-sending a cleared discovery config makes Home Assistant warn on every restart).
            self._outbox.forget(message.topic)

    def _send_all(self, client: paho.Client, messages: Iterable[Message]) -> None:
        for message in messages:
            self._send(client, message)

    def _make_client(self, protocol: MQTTProtocolVersion) -> paho.Client:
        client = new_client(self._address, client_id=self._client_id, protocol=protocol, tls=self._tls)
        client.will_set(self._availability, b"offline", qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=self._reconnect_max_s)
        client.max_queued_messages_set(MAX_QUEUED_QOS1)
        client.on_connect = self._handle_connect
        client.on_socket_open = self._handle_socket_open
        client.on_connect_fail = self._handle_connect_fail
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        return client

    def _supervise(self) -> None:
        """Run paho's network thread; rebuild the client once if the broker refuses MQTT 5."""
        while not self._stopping.is_set():
            client = self._make_client(self._protocol)
            with self._lock:
                self._client = client
            client.connect_async(self._address.host, self._address.port, keepalive=self._keepalive)
            client.loop_start()
            while not self._rebuild.wait(0.5):
                if self._connack_overdue():
                    log.info("no answer to MQTT 5 within %.0f s; trying MQTT 3.1.1", CONNACK_TIMEOUT_S)
                    self._protocol = MQTTProtocolVersion.MQTTv311
                    break
            self._rebuild.clear()
            client.loop_stop()
            self._connected.clear()
            self._socket_opened_at = None

    def _connack_overdue(self) -> bool:
        opened = self._socket_opened_at
        return (
            self._fallback_allowed
            and self._protocol == MQTTProtocolVersion.MQTTv5
            and not self.connected
            and opened is not None
            and time.monotonic() - opened > CONNACK_TIMEOUT_S
        )

    # ------------------------------------------------------------------ paho callbacks (network thread)

    def _handle_socket_open(self, _client: paho.Client, _userdata: Any, _sock: Any) -> None:
        self._socket_opened_at = time.monotonic()
        self._answered = False

    def _handle_connect(
        self, client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        self._socket_opened_at = None
        self._answered = True
        if reason.is_failure:
            mqtt5 = self._protocol == MQTTProtocolVersion.MQTTv5
            if reason.value == UNSUPPORTED_PROTOCOL and mqtt5 and self._fallback_allowed:
                log.info("broker does not speak MQTT 5; using MQTT 3.1.1")
                self._protocol = MQTTProtocolVersion.MQTTv311
                self._rebuild.set()
                return
            self._failed_attempts += 1
            log.error("%s; retrying", describe_refusal(self._address, reason))
            return
        self._failed_attempts = 0
        log.info("connected to %s (MQTT %s)", self._address.redacted(), self.protocol_name)
        with self._lock:
            for topic in self._subscriptions:
                if self._protocol == MQTTProtocolVersion.MQTTv5:
                    # Retain-as-published: a retained command sent while we are connected arrives
                    # flagged as retained too, so it is ignored now as it will be on every reconnect.
                    # MQTT 3.1.1 clears the flag on live delivery; only the reconnect replay shows it.
                    client.subscribe(topic, options=SubscribeOptions(qos=1, retainAsPublished=True))
                else:
                    client.subscribe(topic, qos=1)
            self._connected.set()
            # Discovery first, then availability, then state: Home Assistant creates the entities
            # before it learns they are available.
            self._send_all(client, self._outbox.retained(first=True))
            client.publish(self._availability, b"online", qos=1, retain=True)
            self._send_all(client, self._outbox.retained(first=False))
            self._send_all(client, self._outbox.take_held())
        if self._on_connected is not None:
            self._on_connected()

    def _handle_connect_fail(self, _client: paho.Client, _userdata: Any) -> None:
        # paho calls this from inside its `except OSError:` block, so the error is at hand.
        self._failed_attempts += 1
        log.warning(
            "cannot connect to broker %s (attempt %d): %s; retrying within %d s",
            self._address.redacted(),
            self._failed_attempts,
            describe_connect_error(sys.exc_info()[1]),
            self._reconnect_max_s,
        )

    def _handle_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        was_connected = self.connected
        self._connected.clear()
        answered, self._answered = self._answered, False
        self._socket_opened_at = None  # closed, not silent: no reason to try another protocol
        if self._stopping.is_set():
            return
        if was_connected:
            log.warning("disconnected from broker (%s); reconnecting", reason)
        elif not answered:
            # E.g. a TLS listener that wants a client certificate closes right after the handshake.
            self._failed_attempts += 1
            hint = (
                " (does it require a client certificate: mqtt.cert_file / mqtt.key_file?)"
                if self._tls
                else ""
            )
            log.warning(
                "broker %s closed the connection before accepting it (attempt %d)%s; retrying within %d s",
                self._address.redacted(),
                self._failed_attempts,
                hint,
                self._reconnect_max_s,
            )

    def _handle_message(self, _client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        if self._on_command is not None:
            self._on_command(message.topic, bytes(message.payload), bool(message.retain))


REFUSED_CREDENTIALS = frozenset({4, 5, 134, 135})


def describe_refusal(address: BrokerAddress, reason: ReasonCode) -> str:
    """Why the broker refused a CONNECT, with the settings to check when it is about credentials."""
    hint = ""
    if reason.value in REFUSED_CREDENTIALS:
        hint = " - check the user name and password (mqtt.username / mqtt.password / broker URL)"
    return f"broker {address.redacted()} refused the connection: {reason}{hint}"


def describe_connect_error(exc: BaseException | None) -> str:
    """Why a connection attempt failed, in words, with the setting to check where one helps."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verify failed ({exc.verify_message}); check mqtt.ca_file (--ca-file)"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or exc}); check that the port speaks TLS and the mqtt.*_file options"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (no broker listening on that port?)"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return "no connection"
