"""systemd notification (`Type=notify`, `WatchdogSec=`) without a dependency: one datagram per call."""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class SystemdNotifier:
    """Sends READY/WATCHDOG/STOPPING to $NOTIFY_SOCKET; does nothing outside systemd."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = dict(os.environ) if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]
        self._address = address or None
        usec = env.get("WATCHDOG_USEC", "")
        self.watchdog_s = int(usec) / 1_000_000 if usec.isdigit() else None
        self._socket: socket.socket | None = None
        if self._address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    @property
    def enabled(self) -> bool:
        """True under systemd (NOTIFY_SOCKET is set)."""
        return self._socket is not None

    def notify(self, state: str) -> None:
        """Send one sd_notify message; errors are logged at debug level only."""
        if self._socket is None or self._address is None:
            return
        try:
            self._socket.sendto(state.encode(), self._address)
        except OSError as exc:
            log.debug("sd_notify %s failed: %s", state, exc)

    def ready(self) -> None:
        """`READY=1`: start-up is done."""
        self.notify("READY=1")

    def watchdog(self) -> None:
        """`WATCHDOG=1`: still alive and making progress."""
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        """`STOPPING=1`: a clean stop has begun."""
        self.notify("STOPPING=1")
