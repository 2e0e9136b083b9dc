"""Runs bench/fanout.mjs (MQTT.js subscribers, up to 250 per Node.js process) and merges the results."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import ROOT, summary

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
        latencies: Path | None = None,
        go: bool = False,
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
        if latencies is not None:
            args += ["--latencies", str(latencies)]
        if go:
            args.append("--go")
        self.seconds = seconds
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if go else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
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

    def go(self, start: float) -> None:
        """Start the measuring window at `start` (epoch seconds, by the node's publish time)."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"GO {start:.6f}\n")
        self.process.stdin.flush()

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


CLIENTS_PER_PROCESS = 250  # browsers are separate processes; one event loop for 1,000 would queue


def run_group(
    url: str,
    *,
    clients: int,
    node: str,
    seconds: float,
    workdir: Path,
    frames: bool = False,
    separate: bool = False,
    on_window: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """N subscribers spread over load-client processes sharing one window; results merged."""
    workdir.mkdir(parents=True, exist_ok=True)
    counts = [CLIENTS_PER_PROCESS] * (clients // CLIENTS_PER_PROCESS)
    if clients % CLIENTS_PER_PROCESS:
        counts.append(clients % CLIENTS_PER_PROCESS)
    group = [
        LoadClient(
            url,
            clients=n,
            node=node,
            seconds=seconds,
            frames=frames,
            separate=separate,
            latencies=workdir / f"latencies-{i}.json",
            go=True,
        )
        for i, n in enumerate(counts)
    ]
    try:
        connected = sum(client.wait_ready() for client in group)
        start = time.time() + 1.0
        for client in group:
            client.go(start)
        if on_window is not None:
            on_window()
        results = [client.result() for client in group]
    finally:
        for client in group:
            client.kill()
    union: dict[str, set[int]] = {}
    for result in results:
        for name, seqs in result["union"].items():
            union.setdefault(name, set()).update(seqs)
    expected = sum(max(seqs) - min(seqs) + 1 for seqs in union.values() if seqs)
    delivered = sum(sum(result["delivered_by_node"].values()) for result in results)
    latencies: list[float] = []
    for i in range(len(group)):
        latencies += json.loads((workdir / f"latencies-{i}.json").read_text())
    return {
        "clients": clients,
        "processes": len(group),
        "connected": connected,
        "expected_per_client": expected,
        "delivery_pct": round(100 * delivered / (connected * expected), 2)
        if connected and expected
        else None,
        "clients_missing_some": sum(r["state"]["clients_missing_some"] for r in results),
        "latency_ms": summary(latencies),
        "frame_bytes_per_client_s": round(
            sum(r["frames"]["bytes"] for r in results) / max(connected, 1) / seconds
        ),
        "disconnects": sum(r["disconnects"] for r in results),
        "client_cpu_pct": round(sum(r["client_cpu_pct"] for r in results), 1),
    }
