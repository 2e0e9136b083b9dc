"""(c) Fan-out: N concurrent WebSocket subscribers on mosquitto, with frames flowing and without.

The real daemon (`python -m edge_node`) publishes to a mosquitto started here; its source alternates a
person and an empty scene with every posture hold time 0, so it publishes a state message per frame.
The load client (bench/fanout.mjs) holds N MQTT.js connections over WebSockets in one process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2

from bench.common import CpuMeter, Photo, wait_for
from bench.loadclient import run_group
from tests.support import Daemon, Mosquitto, Watcher

log = logging.getLogger(__name__)

STATE_FPS = 5  # frames per second, and so state messages per second
# mode: (subscribed to frames, frames on a second connection per subscriber); the node publishes
# frames in every mode but the first.
MODES: dict[str, tuple[bool, bool]] = {
    "no frames": (False, False),
    "frames, same connection": (True, False),
    "frames, own connection": (True, True),
}
ZERO_HOLDS_ENV = {
    "DESKPULSE_POSTURE__BAD_AFTER_S": "0",
    "DESKPULSE_POSTURE__GOOD_AFTER_S": "0",
    "DESKPULSE_POSTURE__AWAY_AFTER_S": "0",
    "DESKPULSE_POSTURE__UNKNOWN_AFTER_S": "0",
    "DESKPULSE_HOMEASSISTANT__ENABLED": "false",
}


def alternating_folder(folder: Path, photos: Sequence[Photo]) -> Path:
    """A folder source that alternates a person and an empty scene, one frame each."""
    folder.mkdir(parents=True, exist_ok=True)
    person = next(p for p in photos if p.person)
    empty = next(p for p in photos if not p.person)
    cv2.imwrite(str(folder / "1-person.jpg"), person.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    cv2.imwrite(str(folder / "2-empty.jpg"), empty.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return folder


def start_daemon(workdir: Path, broker: Mosquitto, source: Path, node_id: str, *, frames: bool) -> Daemon:
    """The real daemon on `broker`, publishing a state per frame at STATE_FPS."""
    args = ["--broker", broker.url, "--source", str(source), "--loop", "--max-fps", str(STATE_FPS)]
    args += [
        "--node-id",
        node_id,
        "--data-dir",
        str(workdir / "data"),
        "--frames" if frames else "--no-frames",
    ]
    daemon = Daemon(args, workdir, env=ZERO_HOLDS_ENV).start()
    watcher = Watcher(broker.port, (f"deskpulse/{node_id}/state",)).wait_connected()
    try:
        first = time.monotonic()
        wait_for(lambda: len(watcher.on(f"deskpulse/{node_id}/state")) >= 5, 120, "the daemon's first states")
        log.info("daemon %s publishing (%.1f s to the 5th state)", node_id, time.monotonic() - first)
    except TimeoutError:
        daemon.stop()
        raise RuntimeError(f"the daemon published no states: {daemon.log()[-2000:]}") from None
    finally:
        watcher.close()
    return daemon


def measure(
    broker: Mosquitto,
    daemon: Daemon,
    node_id: str,
    *,
    clients: int,
    seconds: float,
    mode: str,
    workdir: Path,
) -> dict[str, Any]:
    """One N: connect N subscribers, then measure delivery, latency and CPU over the window."""
    assert broker.process is not None and daemon.process is not None
    broker_meter, node_meter = CpuMeter(broker.process.pid), CpuMeter(daemon.process.pid)
    row: dict[str, Any] = {"clients": clients, "mode": mode}
    frames, separate = MODES[mode]
    if clients == 0:
        broker_meter.start(), node_meter.start()
        time.sleep(seconds)
        row.update({"broker": broker_meter.stop(), "node": node_meter.stop()})
        return row

    def start_meters() -> None:
        broker_meter.start()
        node_meter.start()

    result = run_group(
        f"ws://127.0.0.1:{broker.ws_port}",
        clients=clients,
        node=node_id,
        seconds=seconds,
        workdir=workdir,
        frames=frames,
        separate=separate,
        on_window=start_meters,
    )
    row.update({"broker": broker_meter.stop(), "node": node_meter.stop()})
    row.update(
        {
            "connected": result["connected"],
            "processes": result["processes"],
            "delivery_pct": result["delivery_pct"],
            "states_per_client": result["expected_per_client"],
            "clients_missing_some": result["clients_missing_some"],
            "state_latency_ms": result["latency_ms"],
            "frame_bytes_per_client_s": result["frame_bytes_per_client_s"],
            "disconnects": result["disconnects"],
            "load_client_cpu_pct": result["client_cpu_pct"],
        }
    )
    return row


def run(workdir: Path, photos: Sequence[Photo], counts: Sequence[int], seconds: float) -> dict[str, Any]:
    """Every N in `counts` for each mode: no frames; frames on the state connection; frames on their own."""
    source = alternating_folder(workdir / "source", photos)
    rows: list[dict[str, Any]] = []
    for node_frames, modes in (
        (False, ["no frames"]),
        (True, ["frames, same connection", "frames, own connection"]),
    ):
        broker = Mosquitto(workdir / f"mosquitto-{'frames' if node_frames else 'state'}").start()
        node_id = f"bench-fanout-{'frames' if node_frames else 'state'}"
        daemon = start_daemon(workdir / node_id, broker, source, node_id, frames=node_frames)
        try:
            for mode in modes:
                for n in counts:
                    if n == 0 and mode == "frames, own connection":
                        continue  # the same as with N = 0 in the mode before
                    log.info("fan-out: %d WebSocket subscribers, %s", n, mode)
                    rows.append(
                        measure(
                            broker,
                            daemon,
                            node_id,
                            clients=n,
                            seconds=seconds,
                            mode=mode,
                            workdir=workdir / "load" / f"{mode}-{n}".replace(" ", "_").replace(",", ""),
                        )
                    )
        finally:
            daemon.stop()
            broker.stop()
    top = max(counts)
    verdicts = {
        mode: next(
            (
                r["delivery_pct"] == 100 and (r["state_latency_ms"]["p95"] or 1e9) <= 100
                for r in rows
                if r["clients"] == top and r["mode"] == mode
            ),
            None,
        )
        for mode in MODES
    }
    node_cpu = {
        mode: {r["clients"]: r["node"]["cpu_pct"] for r in rows if r["mode"] == mode} for mode in MODES
    }
    return {
        "state_msgs_per_s": STATE_FPS,
        "seconds": seconds,
        "rows": rows,
        "node_cpu_pct_by_n": node_cpu,
        "met_by_mode": verdicts,
        "budget": f"{top} WebSocket subscribers: 100 % delivered, state p95 <= 100 ms; "
        "node CPU independent of N",
        "met": bool(verdicts["no frames"]) and bool(verdicts["frames, own connection"]),
    }
