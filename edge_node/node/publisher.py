"""What goes out and when: `state` on change and as a heartbeat, paced `stats`, `history` and frames.

Every message goes through the link's `publish()`, which never blocks. The publisher numbers `state`
messages, remembers what it last said, and throttles frames; the loop decides what is true.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Final, Protocol

from edge_node.config import Config
from edge_node.mqtt.message import Message
from edge_node.mqtt.topics import NodeTopics
from edge_node.node.overlay import draw
from edge_node.payloads import CameraStatus, Event, History, Info, PoseFrame, PoseLine, PostureState, Stats
from edge_node.posture.explain import Explanation
from edge_node.vision.frames import Frame
from edge_node.vision.jpeg import encode_frame
from edge_node.vision.landmarks import Image
from edge_node.vocabulary import Posture, Setting

HISTORY_INTERVAL_S: Final = 600.0
# Frames arrive at discrete times: a message paced every 0.2 s from frames 0.1 s apart must not miss
# its turn because 0.1 + 0.1 came out a hair under 0.2.
PACE_SLACK: Final = 0.99
# A retained pose (MQTT 5) expires this fast: a late viewer gets the last one, never a stale one.
POSE_EXPIRY_S: Final = 2


class Link(Protocol):
    """What the node needs from the MQTT link."""

    @property
    def connected(self) -> bool:
        """True while connected to the broker."""

    @property
    def protocol_name(self) -> str:
        """The MQTT protocol in use."""

    def publish(self, message: Message) -> None:
        """Send a message; never blocks."""

    def republish(self) -> None:
        """Send every retained message again."""


class Publisher:
    """Sends the node's topics through the link, each at its own cadence."""

    def __init__(
        self,
        config: Config,
        link: Link,
        *,
        clock: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._link = link
        self._clock = clock
        self._mono = mono
        self.topics = NodeTopics(config.node_id)
        self._seq = 0
        self._state_key: tuple[object, ...] | None = None
        # Paced on the monotonic clock: a wall-clock step (a Pi's boot-time clock, NTP) must neither
        # fire every periodic message at once nor hold them back for hours.
        self._last_state_at = -1e9
        self._last_stats_at = -1e9
        self._last_history_at = -1e9
        self._last_frame_mono = -1e9
        self._last_pose_mono = -1e9
        self._info_protocol: str | None = None

    @property
    def link(self) -> Link:
        """The MQTT link messages go through."""
        return self._link

    def send(self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = True) -> None:
        """Publish one message (retained unless said otherwise)."""
        data = payload.encode() if isinstance(payload, str) else payload
        self._link.publish(Message(topic, data, qos=qos, retain=retain))

    def send_all(self, messages: Iterable[Message]) -> None:
        """Publish prepared messages (discovery configs) as they are."""
        for message in messages:
            self._link.publish(message)

    def event(self, event_type: str, message: str, **details: object) -> None:
        """A non-retained `event`."""
        self.events(
            [
                Event(
                    node=self._config.node_id,
                    event_type=event_type,
                    ts=self._clock(),
                    message=message,
                    details=details,
                )
            ]
        )

    def events(self, events: Iterable[Event]) -> None:
        """Publish events made elsewhere (the tracker's)."""
        for event in events:
            self.send(self.topics.event, event.model_dump_json(), retain=False)

    def info(self, info: Info) -> None:
        """The retained `info`; remembers the protocol it was published for."""
        self._info_protocol = info.mqtt_protocol
        self.send(self.topics.info, info.model_dump_json())

    def info_outdated(self) -> bool:
        """True when the link now speaks another protocol than the published `info` says."""
        return self._link.protocol_name != self._info_protocol

    def setting(self, setting: Setting, value: str) -> None:
        """The retained `<setting>/state`."""
        self.send(self.topics.setting_state(setting), value)

    def state(self, state: PostureState, *, force: bool = False) -> bool:
        """Publish `state` if what it says changed, the heartbeat is due, or `force`; True if sent."""
        key = (state.posture, state.present, state.reason, state.calibrated, state.sensitivity)
        heartbeat_due = self._mono() - self._last_state_at >= self._config.posture.heartbeat_s
        if not force and key == self._state_key and not heartbeat_due:
            return False
        self._seq += 1
        self.send(self.topics.state, state.model_copy(update={"seq": self._seq}).model_dump_json())
        self._state_key = key
        self._last_state_at = self._mono()
        return True

    def stats_due(self, now: float) -> bool:
        """True when the periodic `stats` is due."""
        return self._mono() - self._last_stats_at >= self._config.stats.publish_interval_s

    def stats(self, stats: Stats) -> None:
        """The retained `stats` (QoS 0: the next one replaces it)."""
        self.send(self.topics.stats, stats.model_dump_json(), qos=0)
        self._last_stats_at = self._mono()

    def history_due(self, now: float) -> bool:
        """True when the periodic `history` is due."""
        return self._mono() - self._last_history_at >= HISTORY_INTERVAL_S

    def history(self, history: History) -> None:
        """The retained `history`."""
        self.send(self.topics.history, history.model_dump_json())
        self._last_history_at = self._mono()

    def camera(self, status: CameraStatus) -> None:
        """The retained `camera`."""
        self.send(self.topics.camera, status.model_dump_json())

    def frame_due(self) -> bool:
        """True when the frame throttle lets the next frame out."""
        return self._mono() - self._last_frame_mono >= self._config.frames.interval_s * PACE_SLACK

    def frame(self, image_bgr: Image) -> None:
        """Encode and publish one frame: raw JPEG, retained, expiring on MQTT 5."""
        self._last_frame_mono = self._mono()
        cfg = self._config.frames
        encoded = encode_frame(image_bgr, max_width=cfg.width, quality=cfg.quality, max_bytes=cfg.max_bytes)
        self._link.publish(
            Message(
                self.topics.frame,
                encoded.jpeg,
                qos=0,
                retain=True,
                expiry_s=cfg.expiry_s,
                content_type="image/jpeg",
            )
        )

    def picture(
        self,
        frame: Frame,
        *,
        frames: bool,
        fresh: bool,
        posture: Posture,
        explain: Callable[[], Explanation | None],
    ) -> None:
        """What follows a frame: `pose` (throttled; only when the model looked at this frame, `fresh`)
        and the frame itself (throttled, drawn on with `frames.overlay`: a held frame shows the same
        scene, so the last skeleton); `explain` is only called when one of them is due."""
        pose_due = fresh and self.pose_due()
        frame_due = frames and self.frame_due()
        overlay = frame_due and self._config.frames.overlay
        why = explain() if pose_due or overlay else None
        if why is not None and pose_due:
            self.pose(
                PoseFrame(
                    node=self._config.node_id,
                    ts=self._clock(),
                    frame_ts=frame.ts,
                    posture=posture,
                    view=why.view,
                    aspect=why.aspect,
                    points=why.points,
                    lines=tuple(PoseLine(**vars(line)) for line in why.lines),
                )
            )
        if frame_due:
            self.frame(draw(frame.image, why, posture) if overlay and why is not None else frame.image)

    def pose_due(self) -> bool:
        """True when the `pose` throttle (posture.pose_max_hz) lets the next one out."""
        hz = self._config.posture.pose_max_hz
        return hz > 0 and self._mono() - self._last_pose_mono >= PACE_SLACK / hz

    def pose(self, pose: PoseFrame) -> None:
        """`pose`: not retained on MQTT 3.1.1; on MQTT 5 retained with a short expiry."""
        self._last_pose_mono = self._mono()
        mqtt5 = self._link.protocol_name == "5"
        self._link.publish(
            Message(
                self.topics.pose,
                pose.model_dump_json().encode(),
                qos=0,
                retain=mqtt5,
                expiry_s=POSE_EXPIRY_S if mqtt5 else None,
            )
        )

    def allow_frame_now(self) -> None:
        """Let the next frame out at once (frames were switched back on)."""
        self._last_frame_mono = -1e9

    def clear_frame(self) -> None:
        """An empty retained message deletes the retained frame (paused, frames off, stopping)."""
        self.send(self.topics.frame, b"", qos=1, retain=True)
