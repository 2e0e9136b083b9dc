"""The embedded broker: amqtt in-process (TCP + WebSockets) and a static HTTP server for `dashboard/`.

Used when no broker URL is configured, so one command gives a working system. amqtt speaks MQTT
3.1.1 only, serves no files, and listens on loopback unless asked otherwise.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from edge_node.config import EmbeddedBrokerConfig
from edge_node.errors import EdgeNodeError

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
PACKAGE_DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"  # the repository's dashboard/


class BrokerStartError(EdgeNodeError):
    """The embedded broker could not start (usually a port in use)."""


@dataclass(frozen=True)
class EmbeddedAddresses:
    """Where the embedded services listen."""

    host: str
    mqtt_port: int
    ws_port: int
    http_port: int | None

    @property
    def client_host(self) -> str:
        """The address a local client connects to."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host

    @property
    def display_host(self) -> str:
        """The address a person types (this machine's LAN name when listening everywhere)."""
        return socket.gethostname() if self.host in ("0.0.0.0", "") else self.host

    @property
    def mqtt_url(self) -> str:
        """The MQTT address to print."""
        return f"mqtt://{self.display_host}:{self.mqtt_port}"

    @property
    def ws_url(self) -> str:
        """The WebSockets address to print."""
        return f"ws://{self.display_host}:{self.ws_port}"

    @property
    def dashboard_url(self) -> str | None:
        """The dashboard's address with the broker in its query, or None without a dashboard."""
        if self.http_port is None:
            return None
        return f"http://{self.display_host}:{self.http_port}/?broker={self.ws_url}"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _check_port(host: str, port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise BrokerStartError(
                f"cannot listen for {what} on {host}:{port} ({exc.strerror}). Is another broker running? "
                f"Use it with --broker mqtt://127.0.0.1:{port}, or pick other ports in [broker]."
            ) from exc


class _DashboardHandler(SimpleHTTPRequestHandler):
    """Static files only; no listing of folders, nothing cached for long."""

    def list_directory(self, path: str | Any) -> None:
        self.send_error(404, "Not found")

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: %s", format % args)


def _make_broker(config: dict[str, Any]) -> Any:
    """An amqtt 0.12.1 broker that sends a connecting client only the retained messages it asked for.

    On every connect, amqtt 0.12.1 publishes the retained messages of every topic filter that any
    session ever subscribed to (disconnected ones included) to the new client, whatever that client
    subscribed to: a shell watching `…/stats` also received `…/state`, and every client got frames.
    The override sends retained messages only for a filter the session itself holds, which keeps
    both real paths (a SUBSCRIBE, and a persistent session coming back) and drops the leak.
    """
    from amqtt.broker import Broker

    class _Broker(Broker):  # type: ignore[misc]
        async def _publish_retained_messages_for_subscription(
            self, subscription: tuple[str, int], session: Any
        ) -> None:
            holders = self._subscriptions.get(subscription[0], [])
            if any(holder is session for holder, _qos in holders):
                await super()._publish_retained_messages_for_subscription(subscription, session)

    return _Broker(config)


class EmbeddedBroker:
    """amqtt on its own event-loop thread, plus the dashboard's HTTP server thread."""

    def __init__(
        self, config: EmbeddedBrokerConfig, *, dashboard_dir: Path | None = PACKAGE_DASHBOARD
    ) -> None:
        host = config.listen
        self.addresses = EmbeddedAddresses(
            host=host,
            mqtt_port=config.mqtt_port or _free_port(host),
            ws_port=config.ws_port or _free_port(host),
            http_port=(config.http_port or _free_port(host))
            if dashboard_dir and dashboard_dir.is_dir()
            else None,
        )
        self._dashboard_dir = dashboard_dir
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="embedded-broker", daemon=True)
        self._http: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None

    def start(self) -> EmbeddedAddresses:
        """Start amqtt and the dashboard server; raise BrokerStartError (e.g. a port in use)."""
        a = self.addresses
        _check_port(a.host, a.mqtt_port, "MQTT")
        _check_port(a.host, a.ws_port, "MQTT over WebSockets")
        if a.http_port is not None:
            _check_port(a.host, a.http_port, "the dashboard (HTTP)")
        for name in ("amqtt", "transitions", "websockets"):
            if logging.getLogger(name).level == logging.NOTSET:
                logging.getLogger(name).setLevel(logging.WARNING)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise BrokerStartError("the embedded broker did not start within 10 s")
        if self._error is not None:
            raise BrokerStartError(f"the embedded broker failed to start: {self._error}") from self._error
        if a.http_port is not None and self._dashboard_dir is not None:
            handler = functools.partial(_DashboardHandler, directory=str(self._dashboard_dir))
            self._http = ThreadingHTTPServer((a.host, a.http_port), handler)
            self._http.daemon_threads = True
            self._http_thread = threading.Thread(
                target=self._http.serve_forever, name="dashboard-http", daemon=True
            )
            self._http_thread.start()
        if a.host not in ("127.0.0.1", "localhost", "::1"):
            log.warning(
                "the embedded broker listens on %s without authentication: anyone on this network can read "
                "frames and send commands. On a shared network run mosquitto with the repo's mosquitto.conf.",
                a.host,
            )
        return a

    def _amqtt_config(self) -> dict[str, Any]:
        a = self.addresses
        return {
            # amqtt needs a listener named "default" and lets others inherit its settings, so every
            # listener states its type explicitly.
            "listeners": {
                "default": {"type": "tcp", "bind": f"{a.host}:{a.mqtt_port}"},
                "ws": {"type": "ws", "bind": f"{a.host}:{a.ws_port}"},
            },
            # Without the anonymous plugin an explicit plugin list refuses every client.
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                log.error("embedded broker stopped: %s", exc)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        broker = _make_broker(self._amqtt_config())
        await broker.start()
        self._ready.set()
        await self._stop.wait()
        await broker.shutdown()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop both servers."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
