"""A test publisher that speaks the node's contract: JSON payloads are built by edge_node.payloads models."""

from __future__ import annotations

import json
import time
from typing import Any

from edge_node import __version__
from edge_node.mqtt.topics import NodeTopics
from edge_node.payloads import (
    CameraError,
    CameraStatus,
    DayTotals,
    Event,
    History,
    Info,
    PoseFrame,
    PoseLine,
    PostureState,
    Stats,
)
from edge_node.vocabulary import SETTINGS, CameraStateName, Posture, Setting, Trend, View
from tests.support import Watcher

RETAINED_LEAVES = ("availability", "state", "camera", "stats", "history", "info", "frame")

PosePoints = dict[str, tuple[float, float, float]]

# A person seen from the side, slouching: the neck measure is past its limit, the torso one is not.
SIDE_POINTS: PosePoints = {
    "nose": (0.512, 0.301, 0.99),
    "left_eye": (0.497, 0.283, 0.97),
    "left_ear": (0.47, 0.29, 0.98),
    "left_shoulder": (0.45, 0.52, 0.99),
    "left_hip": (0.44, 0.85, 0.97),
}

# MediaPipe Pose (model complexity 1) on scikit-image's astronaut photo (front view): x, y and
# visibility in 0..1, as the node sends them in `pose`.
ASTRONAUT: PosePoints = {
    "nose": (0.435, 0.25, 1.0),
    "left_eye": (0.486, 0.22, 1.0),
    "right_eye": (0.4, 0.202, 1.0),
    "left_ear": (0.523, 0.24, 1.0),
    "right_ear": (0.372, 0.21, 1.0),
    "left_shoulder": (0.598, 0.501, 1.0),
    "right_shoulder": (0.22, 0.469, 1.0),
}


def pose_line(
    name: str,
    measure: str,
    a: tuple[float, float],
    b: tuple[float, float],
    *,
    value: float,
    limit: float,
    op: str = ">",
    broken: bool | None = None,
) -> dict[str, Any]:
    """One measured line of a pose; `broken` defaults to whether value is past limit by `op`."""
    past = value > limit if op == ">" else value < limit
    return {
        "name": name,
        "measure": measure,
        "a": list(a),
        "b": list(b),
        "value": value,
        "limit": limit,
        "op": op,
        "broken": past if broken is None else broken,
    }


SIDE_LINES = (
    pose_line("neck", "neck_deg", (0.47, 0.29), (0.45, 0.52), value=38.0, limit=25.0),
    pose_line("torso", "torso_deg", (0.45, 0.52), (0.44, 0.85), value=12.0, limit=20.0),
)


def pose(
    node: str,
    posture: Posture = "bad",
    *,
    ts: float | None = None,
    view: View = "side",
    aspect: float = 16 / 9,
    points: PosePoints | None = None,
    lines: tuple[dict[str, Any], ...] | list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The node's `pose` payload, built by its model: the landmarks it used and its measured lines."""
    now = time.time() if ts is None else ts
    model = PoseFrame(
        node=node,
        ts=now,
        frame_ts=now - 0.05,
        posture=posture,
        view=view,
        aspect=round(aspect, 4),
        points=dict(SIDE_POINTS if points is None else points),
        lines=tuple(PoseLine.model_validate(line) for line in (SIDE_LINES if lines is None else lines)),
    )
    return model.model_dump(mode="json")


class Publisher:
    """A real paho client on the broker's TCP port that publishes what a node would."""

    def __init__(self, port: int, *, username: str | None = None, password: str | None = None) -> None:
        self.watcher = Watcher(port, (), username=username, password=password).wait_connected()
        self.seq = 0

    def close(self) -> None:
        self.watcher.close()

    def raw(self, topic: str, payload: bytes | str, *, retain: bool = True, qos: int = 1) -> None:
        self.watcher.publish(topic, payload, qos=qos, retain=retain)

    # ---- one topic each

    def availability(self, node: str, value: str = "online") -> None:
        self.raw(NodeTopics(node).availability, value)

    def state(
        self,
        node: str,
        posture: Posture,
        *,
        reason: str | None = None,
        ts: float | None = None,
        since: float | None = None,
        retain: bool = True,
        **fields: Any,
    ) -> PostureState:
        """Publish a posture state (a new `seq` each time) and return it."""
        self.seq += 1
        now = time.time() if ts is None else ts
        state = PostureState(
            node=node,
            posture=posture,
            present=posture in ("good", "bad"),
            reason=reason,
            since=now - 42 if since is None else since,
            seq=self.seq,
            ts=now,
            frame_ts=now,
            **fields,
        )
        self.raw(NodeTopics(node).state, state.model_dump_json(), retain=retain)
        return state

    def camera(
        self, node: str, state: CameraStateName = "connected", *, error: CameraError | None = None
    ) -> None:
        now = time.time()
        status = CameraStatus(
            state=state,
            source="/dev/video0",
            resolution=(640, 360) if state == "connected" else None,
            fps=30.0 if state == "connected" else None,
            error=error,
            retry_at=now + 20 if error else None,
            since=now - 600,
            ts=now,
        )
        self.raw(NodeTopics(node).camera, status.model_dump_json())

    def stats(self, node: str, *, good_s: float, bad_s: float, away_s: float, alerts: int = 0) -> Stats:
        now = time.time()
        score = round(100 * good_s / (good_s + bad_s), 1) if good_s + bad_s else None
        stats = Stats(
            node=node,
            today=DayTotals(
                date=time.strftime("%Y-%m-%d"),
                good_s=good_s,
                bad_s=bad_s,
                away_s=away_s,
                score=score,
                alerts=alerts,
            ),
            pipeline_fps=9.8,
            inference_ms=18.4,
            dropped_frames=3,
            processed_frames=12_000,
            uptime_s=3600,
            rss_mb=182.0,
            ts=now,
        )
        self.raw(NodeTopics(node).stats, stats.model_dump_json(), qos=0)
        return stats

    def history(
        self, node: str, days: list[tuple[str, float, float, float]], *, trend: Trend = "improving"
    ) -> History:
        """`days`: (YYYY-MM-DD, good_s, bad_s, away_s), oldest first."""
        totals = tuple(
            DayTotals(
                date=date,
                good_s=good,
                bad_s=bad,
                away_s=away,
                score=round(100 * good / (good + bad), 1) if good + bad else None,
            )
            for date, good, bad, away in days
        )
        history = History(
            node=node,
            days=totals,
            trend=trend,
            trend_rule="last 3 days vs the 4 before",
            streak_days=2,
            goal=80.0,
            ts=time.time(),
        )
        self.raw(NodeTopics(node).history, history.model_dump_json())
        return history

    def info(self, node: str, *, name: str | None = None) -> None:
        info = Info(
            node=node,
            version=__version__,
            model="mediapipe-pose-full (mediapipe 0.10.18)",
            started_at=time.time() - 3600,
            mqtt_protocol="5",
            config={"name": name, "frames": {"interval_s": 1.0}},
        )
        self.raw(NodeTopics(node).info, info.model_dump_json())

    def setting(self, node: str, setting: Setting, value: str) -> None:
        assert setting in SETTINGS
        self.raw(NodeTopics(node).setting_state(setting), value)

    def settings(self, node: str, **values: str) -> None:
        defaults = {
            "monitoring": "ON",
            "frames": "ON",
            "alert_minutes": "10",
            "sensitivity": "medium",
            "rotation": "0",
            "cpu_budget": "0.25",
        }
        defaults["calibrate"] = "uncalibrated"
        defaults.update(values)
        for setting in SETTINGS:
            self.setting(node, setting, defaults[setting])

    def event(self, node: str, event_type: str, message: str = "", **details: object) -> None:
        event = Event(node=node, event_type=event_type, ts=time.time(), message=message, details=details)
        self.raw(NodeTopics(node).event, event.model_dump_json(), retain=False)

    def frame(self, node: str, jpeg: bytes, *, qos: int = 0) -> None:
        self.raw(NodeTopics(node).frame, jpeg, qos=qos)

    def pose(self, node: str, posture: Posture = "bad", **fields: Any) -> dict[str, Any]:
        """Publish a `pose` as the node does (not retained, QoS 0) and return the payload."""
        payload = pose(node, posture, **fields)
        self.raw(f"{NodeTopics(node).base}/pose", json.dumps(payload), retain=False, qos=0)
        return payload

    # ---- a whole node

    def node(
        self, node: str, posture: Posture = "good", *, name: str | None = None, **state_fields: Any
    ) -> PostureState:
        """Everything retained a running node publishes at start, in its order."""
        self.info(node, name=name)
        self.settings(node)
        self.camera(node)
        self.availability(node, "online")
        return self.state(node, posture, **state_fields)

    def forget(self, node: str) -> None:
        """Delete every retained topic of `node` (empty retained payloads), as `forget` does."""
        topics = NodeTopics(node)
        for leaf in RETAINED_LEAVES:
            self.raw(f"{topics.base}/{leaf}", b"")
        for setting in SETTINGS:
            self.raw(topics.setting_state(setting), b"")
