"""Calibrate: record your good posture as the baseline (asks the running node, else uses the camera)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time

import paho.mqtt.client as paho

from edge_node.cli.common import add_config_arguments, config_from_args, tool_logging
from edge_node.config import BrokerAddress, Config
from edge_node.mqtt.link import BrokerUnreachable, LinkError, TlsOptions, connect_tool

log = logging.getLogger(__name__)

ONLINE_WAIT_S = 3.0
HOW_TO_SIT = """How to sit while it records:
  - as you want to sit at this desk: back against the backrest, feet on the floor;
  - shoulders relaxed and level, head upright over them, eyes on the screen;
  - facing the camera as you usually do, with your head and shoulders (upper arms too, for a
    camera in front of you) in the picture;
  - still, until it says it is done."""
EXIT_BROKER = 2  # as the node: one line on stderr, exit code 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--local` and the config flags."""
    parser.add_argument(
        "--local", action="store_true", help="use the camera directly even if a node is running"
    )
    add_config_arguments(parser)


def main(args: argparse.Namespace) -> int:
    """Calibrate through the running node, else with the camera here."""
    config = config_from_args(args)
    tool_logging(config)
    address = config.tool_address()
    if not args.local:
        try:
            result = _calibrate_remote(config, address)
        except LinkError as exc:
            print(f"deskpulse-edge calibrate: {exc} (--local: the camera here)", file=sys.stderr)
            return EXIT_BROKER
        if result is not None:
            return result
        print(
            f"node '{config.node_id}' is not online at {address.redacted()}; calibrating with the camera here"
        )
    return _calibrate_local(config)


def _calibrate_remote(config: Config, address: BrokerAddress) -> int | None:
    """Press calibrate on the running node and wait for its answer; None if the node is not online.

    Raise LinkError when the broker cannot be used (TLS, credentials, or a configured broker that
    cannot be reached): calibrating with the camera here would then be a guess, not what was asked.
    """
    from edge_node.mqtt.topics import NodeTopics

    topics = NodeTopics(config.node_id)
    online = threading.Event()
    answer: list[dict[str, object]] = []
    answered = threading.Event()

    def on_message(_c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        if message.topic == topics.availability:
            if message.payload == b"online":
                online.set()
            return
        try:
            event = json.loads(message.payload)
        except ValueError:
            return
        if event.get("event_type") in ("calibrated", "calibration_failed"):
            answer.append(event)
            answered.set()

    try:
        client = connect_tool(address, TlsOptions.from_config(config.mqtt))
    except BrokerUnreachable:
        if config.mqtt.address() is None:
            return None  # no broker configured and the embedded one is not up: no node is running here
        raise
    client.on_message = on_message
    client.subscribe([(topics.availability, 1), (topics.event, 1)])
    try:
        if not online.wait(ONLINE_WAIT_S):
            return None
        print(HOW_TO_SIT)
        print(
            f"calibrating node '{config.node_id}': sit in your usual good posture for "
            f"{config.posture.calibrate_s:.0f} s…"
        )
        client.publish(topics.setting_set("calibrate"), b"PRESS", qos=1)
        if not answered.wait(config.posture.calibrate_s + 15):
            print("no answer from the node", file=sys.stderr)
            return 1
        event = answer[0]
        print(f"{event['event_type']}: {event.get('message', '')}")
        return 0 if event["event_type"] == "calibrated" else 1
    finally:
        client.loop_stop()
        client.disconnect()


def _calibrate_local(config: Config) -> int:
    """Open the source here, record for calibrate_s, store the baseline."""
    from edge_node.datadir import JsonStore
    from edge_node.node.controller import CALIBRATION_FILE
    from edge_node.posture.calibration import CalibrationRefused, Calibrator
    from edge_node.posture.geometry import classify
    from edge_node.vision.capture import Capture
    from edge_node.vision.frames import LatestSlot
    from edge_node.vision.pose import PoseEstimator

    estimator = PoseEstimator(
        model_complexity=config.posture.model_complexity, static_images=not config.posture.tracking
    )
    slot = LatestSlot()
    capture = Capture(config.camera, slot)
    capture.start()
    print(HOW_TO_SIT)
    print(
        f"calibrating from {config.camera.source}: sit in your usual good posture for "
        f"{config.posture.calibrate_s:.0f} s…"
    )
    calibrator = Calibrator(started_at=time.time(), duration_s=config.posture.calibrate_s)
    try:
        while not calibrator.done(time.time()):
            frame = slot.take(0.2)
            if frame is not None:
                detection = estimator.detect(frame.image)
                calibrator.add(classify(detection.pose, sensitivity=config.posture.sensitivity))
        baseline = calibrator.finish(time.time())
    except CalibrationRefused as exc:
        print(f"calibration refused: {exc}", file=sys.stderr)
        return 1
    finally:
        capture.stop()
        estimator.close()
    JsonStore(config.data_dir).save(CALIBRATION_FILE, baseline)
    shown = ", ".join(f"{name} {value:g}" for name, value in baseline.measures.items())
    print(f"calibrated from {baseline.frames} frames ({baseline.view} view: {shown})")
    print(f"baseline saved in {config.data_dir}; a running node reads it when it starts")
    return 0
