"""Runs bench/fanout.mjs (N MQTT.js subscribers in one Node.js process) and reads its result."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT

SCRIPT = ROOT / "bench" / "fanout.mjs"


class LoadClientError(RuntimeError):
    """The load client failed or could not connect its subscribers."""


class LoadClient:
    """`node bench/fanout.mjs …` as a process: wait_ready(), then result()."""

    def __init__(
        self,
        url: str,
        *,
        clients: int,
        node: str,
        seconds: float,
        frames: bool = False,
        separate: bool = False,
        qos: int = 1,
        protocol: int = 5,
        records: Path | None = None,
    ) -> None:
        node_js = shutil.which("node")
        if node_js is None:
            raise LoadClientError("Node.js is needed for the load client (apt-get install nodejs)")
        if not (ROOT / "dashboard" / "node_modules" / "mqtt").is_dir():
            raise LoadClientError("MQTT.js is missing: run scripts/install.sh (npm ci in dashboard/)")
        args = [node_js, str(SCRIPT), "--url", url, "--clients", str(clients), "--node", node]
        args += ["--seconds", str(seconds), "--qos", str(qos), "--protocol", str(protocol)]
        if frames:
            args.append("--frames")
        if separate:
            args.append("--separate")
        if records is not None:
            args += ["--records", str(records)]
        self.seconds = seconds
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
        )
        self._lines: list[str] = []
        self._ready = threading.Event()
        self._done = threading.Event()
        self._reader = threading.Thread(target=self._read, name="load-client-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line.strip())
            if line.startswith("READY"):
                self._ready.set()
        self._done.set()

    def wait_ready(self, timeout: float = 180.0) -> int:
        """Block until every subscriber is subscribed; return how many connected."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.2):
            if self._done.is_set() or time.monotonic() > deadline:
                self.kill()
                raise LoadClientError(f"load client never got ready: {self._stderr()}")
        ready = next(line for line in self._lines if line.startswith("READY"))
        return int(ready.split()[1])

    def result(self, timeout: float | None = None) -> dict[str, Any]:
        """The client's JSON summary once its window is over."""
        try:
            self.process.wait(timeout or self.seconds + 120)
        except subprocess.TimeoutExpired as exc:
            self.kill()
            raise LoadClientError("load client did not finish") from exc
        self._reader.join(5)
        for line in reversed(self._lines):
            if line.startswith("{"):
                result: dict[str, Any] = json.loads(line)
                return result
        raise LoadClientError(f"load client printed no result: {self._stderr()}")

    def _stderr(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return "(still running)"
        return self.process.stderr.read()[-2000:]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
