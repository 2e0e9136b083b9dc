"""(b) Latency: frame capture → state received by a subscriber, through mosquitto and the embedded amqtt.

Each frame of the source changes the state (a person, then an empty scene, with every posture hold
time 0), so every state message is caused by a known frame; the node (real Node, Capture, MqttLink,
PoseEstimator, in this process) remembers each frame's inference time, and a subscriber in another
process (bench/fanout.mjs) records when each state arrived.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import ClipSource, InProcessNode, Photo, make_clip, node_config, summary
from bench.loadclient import LoadClient
from edge_node.mqtt.link import MqttProtocol
from edge_node.posture.geometry import Reading
from edge_node.vision.frames import Frame

log = logging.getLogger(__name__)

SOURCE_FPS = 5.0  # well below the model's rate: no frame waits for the one before
ZERO_HOLDS = {"bad_after_s": 0, "good_after_s": 0, "away_after_s": 0, "unknown_after_s": 0}


def _measure(
    workdir: Path,
    name: str,
    *,
    mqtt_url: str,
    subscriber_url: str,
    protocol: MqttProtocol,
    clip: Sequence[bytes],
    seconds: float,
) -> dict[str, Any]:
    config = node_config(
        workdir / name,
        mqtt_url,
        f"bench-latency-{name}",
        camera={"max_fps": 120},
        posture=ZERO_HOLDS,
    )
    node = InProcessNode(config, ClipSource(clip, SOURCE_FPS), protocol=protocol)
    inference: dict[float, float] = {}
    process = node.node.process

    def remember_inference(frame: Frame) -> Reading:
        """The real Node.process, remembering each frame's inference time by its capture time."""
        reading = process(frame)
        if node.estimator.last is not None:
            inference[round(frame.ts, 6)] = node.estimator.last.inference_ms
        return reading

    node.node.process = remember_inference  # type: ignore[method-assign]
    records_path = workdir / f"{name}-records.json"
    try:
        node.connect()
        with node.running():
            client = LoadClient(
                subscriber_url,
                clients=1,
                node=config.node_id,
                seconds=seconds,
                protocol=4 if protocol == "3.1.1" else 5,
                records=records_path,
            )
            client.wait_ready()
            result = client.result()
    finally:
        node.close()
    records = json.loads(records_path.read_text())
    end_to_end, minus_inference, transport, used = [], [], [], []
    seen: set[float] = set()
    for _node, _seq, ts, frame_ts, received in records:
        if frame_ts is None:
            continue
        key = round(frame_ts, 6)
        if key in seen or key not in inference:
            continue  # a heartbeat repeats the frame_ts of a state already counted
        seen.add(key)
        latency = (received - frame_ts) * 1000
        end_to_end.append(latency)
        minus_inference.append(latency - inference[key])
        transport.append((received - ts) * 1000)
        used.append(inference[key])
    e2e, inf = summary(end_to_end), summary(used)
    budget = (inf["p95"] or 0) + 15
    return {
        "broker": name,
        "states": len(end_to_end),
        "delivery_pct": result["state"]["delivery_pct"],
        "capture_to_received_ms": e2e,
        "minus_inference_ms": summary(minus_inference),
        "publish_to_received_ms": summary(transport),
        "inference_ms": inf,
        "budget_p95_ms": round(budget, 2),
        "met": e2e["p95"] is not None and e2e["p95"] <= budget,
    }


def run(
    workdir: Path, mosquitto_port: int, photos: Sequence[Photo], seconds: float, *, amqtt: bool = True
) -> dict[str, Any]:
    """Mosquitto (TCP, MQTT 5) and, in the daemon's own process as it runs by default, amqtt (MQTT 3.1.1)."""
    person = next(p for p in photos if p.person)
    empty = next(p for p in photos if not p.person)
    clip = make_clip([person, empty], per_photo=1)
    url = f"mqtt://127.0.0.1:{mosquitto_port}"
    results = {
        "mosquitto": _measure(
            workdir,
            "mosquitto",
            mqtt_url=url,
            subscriber_url=url,
            protocol="auto",
            clip=clip,
            seconds=seconds,
        )
    }
    if amqtt:
        from edge_node.config import EmbeddedBrokerConfig
        from edge_node.mqtt.broker import EmbeddedBroker

        embedded = EmbeddedBroker(
            EmbeddedBrokerConfig(mqtt_port=0, ws_port=0, http_port=0), dashboard_dir=None
        )
        addresses = embedded.start()
        try:
            time.sleep(0.5)
            amqtt_url = f"mqtt://127.0.0.1:{addresses.mqtt_port}"
            results["amqtt"] = _measure(
                workdir,
                "amqtt",
                mqtt_url=amqtt_url,
                subscriber_url=amqtt_url,
                protocol="3.1.1",
                clip=clip,
                seconds=seconds,
            )
        finally:
            embedded.stop(timeout=2.0)
    return {
        "source_fps": SOURCE_FPS,
        "person_photo": person.name,
        "empty_photo": empty.name,
        "seconds": seconds,
        **results,
    }
