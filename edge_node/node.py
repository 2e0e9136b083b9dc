"""The processing loop: latest frame → pose → posture → publish, plus commands and housekeeping.

All node state is owned by the thread that calls `Node.run()`; the capture thread and paho's
network thread only hand things over (the frame slot, the command queue).
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
import psutil

from edge_node import __version__
from edge_node.calibration import CalibrationRefused, Calibrator
from edge_node.capture import Capture, Frame, LatestSlot
from edge_node.commands import Command, Rejection, RuntimeSettings, SettingOverrides, parse_command
from edge_node.config import Config, redact_url
from edge_node.discovery import discovery_cleanup, discovery_messages
from edge_node.frames import encode_frame
from edge_node.landmarks import Image
from edge_node.mqtt_link import Message
from edge_node.payloads import Event, Info, PostureState, Stats
from edge_node.pose import Detection
from edge_node.posture import Baseline, Reading, classify
from edge_node.steady import Steadier, SteadyConfig
from edge_node.store import JsonStore
from edge_node.topics import SETTINGS, DiscoveryTopics, NodeTopics, Setting
from edge_node.tracker import Tracker
from edge_node.watchdog import SystemdNotifier

log = logging.getLogger(__name__)


class InvalidFrame(ValueError):
    """A frame that cannot be an image (wrong shape or type)."""


def as_bgr(image: Image) -> Image:
    """Accept 8-bit gray, BGR and BGRA images; refuse anything else with InvalidFrame."""
    if not isinstance(image, np.ndarray) or image.size == 0:
        raise InvalidFrame("not an image")
    if image.dtype != np.uint8:
        raise InvalidFrame(f"pixel type {image.dtype}, expected uint8")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise InvalidFrame(f"shape {image.shape}, expected height x width x 3")


LOOP_TIMEOUT_S = 0.2
COMMAND_QUEUE_SIZE = 256
HISTORY_INTERVAL_S = 600.0
HA_REPUBLISH_DELAY_S = (1.0, 5.0)
STARTING_CAMERA = "starting camera"  # state.reason until the camera delivers (start, resume)
SETTINGS_FILE = "settings"
CALIBRATION_FILE = "calibration"


class Publisher(Protocol):
    """What the node needs from the MQTT link."""

    @property
    def connected(self) -> bool: ...

    @property
    def protocol_name(self) -> str: ...

    def publish(self, message: Message) -> None: ...

    def republish(self) -> None: ...


class Estimator(Protocol):
    """What the node needs from pose detection."""

    model_name: str

    def detect(self, image_bgr: Image) -> Detection: ...


@dataclass(frozen=True)
class HaBirth:
    """Home Assistant announced itself on `homeassistant/status`."""


@dataclass(frozen=True)
class Connected:
    """The link (re)connected; the negotiated protocol may have changed."""


Inbox = Command | Rejection | HaBirth | Connected


class ErrorLog:
    """Logs an unexpected exception at most once a minute per kind, so a bug cannot flood the log."""

    def __init__(self, interval_s: float = 60.0) -> None:
        self._interval_s = interval_s
        self._last: dict[str, float] = {}
        self.count = 0

    def report(self, where: str, exc: BaseException) -> None:
        self.count += 1
        key = f"{where}:{type(exc).__name__}"
        now = time.monotonic()
        if now - self._last.get(key, -1e9) >= self._interval_s:
            self._last[key] = now
            log.error("%s failed (%d errors so far); the node keeps running", where, self.count, exc_info=exc)


class PipelineMetrics:
    """Processed fps and inference time over a sliding window (bounded)."""

    def __init__(self, window: int = 120) -> None:
        self._processed: deque[float] = deque(maxlen=window)
        self._inference: deque[float] = deque(maxlen=window)
        self.processed_total = 0

    def record(self, mono: float, inference_ms: float) -> None:
        self._processed.append(mono)
        self._inference.append(inference_ms)
        self.processed_total += 1

    def fps(self, now_mono: float) -> float:
        recent = [t for t in self._processed if now_mono - t <= 10.0]
        if len(recent) < 2:
            return 0.0
        return round((len(recent) - 1) / max(recent[-1] - recent[0], 1e-6), 2)

    def inference_ms(self) -> float | None:
        if not self._inference:
            return None
        ordered = sorted(self._inference)
        return round(ordered[len(ordered) // 2], 2)


class Node:
    """One desk: owns settings, posture state and what is published about them."""

    def __init__(
        self,
        config: Config,
        *,
        link: Publisher,
        capture: Capture,
        slot: LatestSlot,
        estimator: Estimator,
        tracker: Tracker,
        store: JsonStore,
        notifier: SystemdNotifier | None = None,
        clock: Callable[[], float] = time.time,
        dashboard_url: str | None = None,
    ) -> None:
        self.config = config
        self.topics = NodeTopics(config.node_id)
        self.discovery = DiscoveryTopics(config.node_id, config.homeassistant.discovery_prefix)
        self._link = link
        self._capture = capture
        self._slot = slot
        self._estimator = estimator
        self._tracker = tracker
        self._store = store
        self._notifier = notifier or SystemdNotifier({})
        # systemd wants a ping within WatchdogSec; a few per interval are plenty, not one per frame.
        self._watchdog_interval_s = min(1.0, (self._notifier.watchdog_s or 4.0) / 4)
        self._clock = clock
        self._dashboard_url = dashboard_url
        self._rng = random.Random()
        self.commands: queue.Queue[Inbox] = queue.Queue(COMMAND_QUEUE_SIZE)
        self.errors = ErrorLog()
        self._info_protocol: str | None = None
        self.settings = self._load_settings()
        tracker.set_alert_minutes(float(self.settings.alert_minutes))
        self.baseline: Baseline | None = store.load(CALIBRATION_FILE, Baseline)
        now = clock()
        self.started_at = now
        self._started_mono = time.monotonic()
        self.steady = Steadier(self._steady_config(), now)
        self._calibrator: Calibrator | None = None
        self._last_reading: Reading | None = None
        self._last_frame_ts: float | None = None
        self._unknown_reason: str | None = STARTING_CAMERA
        self._seq = 0
        self._published_key: tuple[object, ...] | None = None
        self._last_state_at = 0.0
        self._last_stats_at = 0.0
        self._last_history_at = 0.0
        self._last_frame_pub_mono = -1e9
        self._camera_version = -1
        self._camera_state = "disconnected"
        self._republish_at: float | None = None
        self._last_capture_ticks = -1
        self._last_progress_mono = time.monotonic()
        self._last_watchdog_mono = -1e9
        self._process = psutil.Process()
        self.metrics = PipelineMetrics()

    # ------------------------------------------------------------------ set-up

    def _steady_config(self) -> SteadyConfig:
        p = self.config.posture
        return SteadyConfig(
            bad_after_s=p.bad_after_s,
            good_after_s=p.good_after_s,
            away_after_s=p.away_after_s,
            unknown_after_s=p.unknown_after_s,
        )

    def _load_settings(self) -> RuntimeSettings:
        defaults = RuntimeSettings(
            frames=self.config.frames.enabled,
            alert_minutes=self.config.alerts.alert_minutes,
            sensitivity=self.config.posture.sensitivity,
        )
        self._overrides = self._store.load(SETTINGS_FILE, SettingOverrides) or SettingOverrides()
        settings = self._overrides.apply_to(defaults)
        for name in self._overrides.model_dump(exclude_none=True):
            if getattr(settings, name) != getattr(defaults, name):
                log.info("using %s = %s, set over MQTT (kept in the data dir)", name, getattr(settings, name))
        return settings

    # ------------------------------------------------------------------ link callbacks (paho thread)

    def on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        """Validate and enqueue; never blocks and never touches node state."""
        if topic == self.discovery.status:
            if payload.strip().lower() == b"online":
                self._enqueue(HaBirth())
            return
        setting = self.topics.parse_set(topic)
        if setting is None:
            return
        self._enqueue(parse_command(setting, payload, retained=retained))

    def on_connected(self) -> None:
        """Called by the link after every (re)connect."""
        self._enqueue(Connected())

    def _enqueue(self, item: Inbox) -> None:
        try:
            self.commands.put_nowait(item)
        except queue.Full:
            log.warning("command queue full (%d); dropped a command", COMMAND_QUEUE_SIZE)

    def subscriptions(self) -> list[str]:
        topics = [self.topics.set_wildcard]
        if self.config.homeassistant.enabled:
            topics.append(self.discovery.status)
        return topics

    # ------------------------------------------------------------------ publishing helpers

    def _publish(self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = True) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        self._link.publish(Message(topic, data, qos=qos, retain=retain))

    def _event(self, event_type: str, message: str, **details: object) -> None:
        event = Event(
            node=self.config.node_id,
            event_type=event_type,
            ts=self._clock(),
            message=message,
            details=details,
        )
        self._publish(self.topics.event, event.model_dump_json(), retain=False)

    def _publish_events(self, events: list[Event]) -> None:
        for event in events:
            self._publish(self.topics.event, event.model_dump_json(), retain=False)

    def publish_info(self) -> None:
        self._info_protocol = self._link.protocol_name
        info = Info(
            node=self.config.node_id,
            version=__version__,
            model=self._estimator.model_name,
            started_at=self.started_at,
            mqtt_protocol=self._link.protocol_name,
            dashboard_url=self._dashboard_url,
            config=self.config.redacted(),
        )
        self._publish(self.topics.info, info.model_dump_json())

    def publish_settings(self) -> None:
        for setting in SETTINGS:
            self._publish_setting(setting)

    def _publish_setting(self, setting: Setting) -> None:
        if setting == "calibrate":
            value = "calibrating" if self._calibrator else ("calibrated" if self.baseline else "uncalibrated")
        else:
            value = self.settings.state_payload(setting)
        self._publish(self.topics.setting_state(setting), value)

    def _state_payload(self, now: float) -> PostureState:
        posture = self.steady.posture
        steady_reading = self.steady.reading
        latest = self._last_reading
        reason: str | None
        reasons: tuple[str, ...] = ()
        if posture == "paused":
            reason = "monitoring is off"
        elif posture in ("bad", "unknown") and steady_reading is not None and steady_reading.reasons:
            reasons = steady_reading.reasons
            reason = steady_reading.reason_text
        elif posture == "unknown":
            reason = self._unknown_reason
        else:
            reason = None
        show_measures = posture not in ("paused", "away") and latest is not None and latest.person
        return PostureState(
            node=self.config.node_id,
            posture=posture,
            present=posture in ("good", "bad") or (posture == "unknown" and self.steady.present),
            reason=reason,
            reasons=reasons,
            view=latest.view if show_measures and latest else "unknown",
            measures=dict(latest.measures) if show_measures and latest else {},
            confidence=latest.confidence if show_measures and latest else 0.0,
            since=self.steady.since,
            bad_for_s=self._tracker.bad_for_s(now),
            calibrated=self.baseline is not None,
            sensitivity=self.settings.sensitivity,
            seq=self._seq,
            ts=now,
            frame_ts=self._last_frame_ts if posture != "paused" else None,
        )

    def _state_key(self, state: PostureState) -> tuple[object, ...]:
        return (state.posture, state.present, state.reason, state.calibrated, state.sensitivity)

    def publish_state(self, now: float, *, force: bool = False) -> None:
        """Publish `state` if what it says changed, the heartbeat is due, or `force`."""
        state = self._state_payload(now)
        key = self._state_key(state)
        heartbeat_due = now - self._last_state_at >= self.config.posture.heartbeat_s
        if not force and key == self._published_key and not heartbeat_due:
            return
        self._seq += 1
        state = state.model_copy(update={"seq": self._seq})
        self._publish(self.topics.state, state.model_dump_json())
        self._published_key = key
        self._last_state_at = now

    def publish_stats(self, now: float) -> None:
        stats = Stats(
            node=self.config.node_id,
            today=self._tracker.today(now),
            pipeline_fps=self.metrics.fps(time.monotonic()),
            inference_ms=self.metrics.inference_ms(),
            dropped_frames=self._slot.dropped,
            processed_frames=self.metrics.processed_total,
            uptime_s=round(time.monotonic() - self._started_mono, 1),
            rss_mb=round(self._process.memory_info().rss / 1_048_576, 1),
            ts=now,
        )
        self._publish(self.topics.stats, stats.model_dump_json(), qos=0)
        self._last_stats_at = now

    def publish_history(self, now: float) -> None:
        self._publish(self.topics.history, self._tracker.history(now).model_dump_json())
        self._last_history_at = now

    def _publish_camera(self) -> None:
        version, status = self._capture.status(redact_url(self.config.camera.source))
        if version == self._camera_version:
            return
        self._camera_version = version
        self._camera_state = status.state
        self._publish(self.topics.camera, status.model_dump_json())
        if status.state == "disconnected" and self.settings.monitoring:
            self._unknown_reason = (
                f"camera {status.error.kind.replace('_', ' ')}" if status.error else STARTING_CAMERA
            )
            self._last_reading = None
            self.steady.force("unknown", self._clock())
            self.publish_state(self._clock())
            if self.settings.frames and status.error is not None:
                self._clear_frame()  # no picture of a scene the camera no longer sees

    def _clear_frame(self) -> None:
        """An empty retained message deletes the retained frame (paused, frames off, stopping)."""
        self._publish(self.topics.frame, b"", qos=1, retain=True)

    def publish_startup(self) -> None:
        """Everything retained, in the order a new subscriber wants it."""
        now = self._clock()
        for message in discovery_cleanup(self.config, self._store):
            self._link.publish(message)
        for message in discovery_messages(
            self.config, version=__version__, dashboard_url=self._dashboard_url
        ):
            self._link.publish(message)
        self.publish_info()
        self.publish_settings()
        if not self.settings.monitoring:
            self.steady.force("paused", now)
        if not self.settings.monitoring or not self.settings.frames:
            self._clear_frame()
        self._publish_camera()
        self.publish_state(now, force=True)
        self.publish_stats(now)
        self.publish_history(now)

    # ------------------------------------------------------------------ commands

    def _drain_commands(self, now: float) -> None:
        while True:
            try:
                item = self.commands.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, HaBirth):
                self._republish_at = now + self._rng.uniform(*HA_REPUBLISH_DELAY_S)
            elif isinstance(item, Connected):
                if self._link.protocol_name != self._info_protocol:
                    self.publish_info()
            elif isinstance(item, Rejection):
                self._reject(item.setting, item.payload, item.reason)
            else:
                self._apply(item, now)

    def _reject(self, setting: str, payload: str, reason: str) -> None:
        log.warning("rejected command on %s/%s/set (%r): %s", self.topics.base, setting, payload, reason)
        self._event(
            "command_rejected", f"{setting}: {reason}", setting=setting, payload=payload, reason=reason
        )

    def _apply(self, command: Command, now: float) -> None:
        if command.setting == "calibrate":
            self._start_calibration(now)
            return
        if getattr(self.settings, command.setting) == command.value:
            self._publish_setting(command.setting)
            return
        setattr(self.settings, command.setting, command.value)
        setattr(self._overrides, command.setting, command.value)
        self._store.save(SETTINGS_FILE, self._overrides)
        log.info("%s set to %s", command.setting, self.settings.state_payload(command.setting))
        if command.setting == "monitoring":
            self._set_monitoring(bool(command.value), now)
        elif command.setting == "frames" and not command.value:
            self._clear_frame()
        elif command.setting == "frames":
            self._last_frame_pub_mono = -1e9
        elif command.setting == "alert_minutes":
            self._tracker.set_alert_minutes(float(self.settings.alert_minutes))
        self._publish_setting(command.setting)
        self.publish_state(now)

    def _set_monitoring(self, on: bool, now: float) -> None:
        if on:
            self._capture.resume()
            self._unknown_reason = STARTING_CAMERA
            self.steady.force("unknown", now)
        else:
            self._capture.pause()
            self._slot.clear()
            if self._calibrator is not None:
                self._calibrator = None
                self._calibration_failed("monitoring was turned off during calibration")
            self._last_reading = None
            self.steady.force("paused", now)
            self._clear_frame()
        self._publish_events(self._tracker.observe(self.steady.posture, now))

    def _start_calibration(self, now: float) -> None:
        if not self.settings.monitoring:
            self._calibration_failed("monitoring is off; turn it on to calibrate")
            return
        if self._calibrator is not None:
            log.info("calibration already running")
            return
        self._calibrator = Calibrator(started_at=now, duration_s=self.config.posture.calibrate_s)
        log.info("calibrating for %.0f s: sit in your usual good posture", self.config.posture.calibrate_s)
        self._publish_setting("calibrate")

    def _finish_calibration(self, now: float) -> None:
        calibrator, self._calibrator = self._calibrator, None
        assert calibrator is not None
        try:
            baseline = calibrator.finish(now)
        except CalibrationRefused as exc:
            self._calibration_failed(str(exc))
            return
        self.baseline = baseline
        self._store.save(CALIBRATION_FILE, baseline)
        log.info("calibrated from %d frames: %s", baseline.frames, baseline.measures)
        self._event(
            "calibrated",
            f"calibrated from {baseline.frames} frames",
            view=baseline.view,
            measures=baseline.measures,
            frames=baseline.frames,
        )
        self._publish_setting("calibrate")
        self.publish_state(now, force=True)

    def _calibration_failed(self, reason: str) -> None:
        log.warning("calibration refused: %s", reason)
        self._event("calibration_failed", reason, reason=reason)
        self._publish_setting("calibrate")

    # ------------------------------------------------------------------ frames

    def process(self, frame: Frame) -> Reading:
        """Pose → posture for one frame; publishes state and (throttled) the frame."""
        image = as_bgr(frame.image)
        if image is not frame.image:
            frame = Frame(image=image, ts=frame.ts, mono=frame.mono, seq=frame.seq)
        detection = self._estimator.detect(frame.image)
        self.metrics.record(time.monotonic(), detection.inference_ms)
        reading = classify(detection.pose, sensitivity=self.settings.sensitivity, baseline=self.baseline)
        if self._calibrator is not None:
            self._calibrator.add(reading)
        self._last_reading = reading
        self._last_frame_ts = frame.ts
        self._unknown_reason = "checking posture" if reading.person else "no person in view"
        self.steady.update(reading, frame.ts)
        self.publish_state(self._clock())
        if self.settings.frames:
            self._maybe_publish_frame(frame)
        return reading

    def _maybe_publish_frame(self, frame: Frame) -> None:
        now_mono = time.monotonic()
        if now_mono - self._last_frame_pub_mono < self.config.frames.interval_s:
            return
        self._last_frame_pub_mono = now_mono
        cfg = self.config.frames
        encoded = encode_frame(frame.image, max_width=cfg.width, quality=cfg.quality, max_bytes=cfg.max_bytes)
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

    # ------------------------------------------------------------------ loop

    def tick(self, now: float) -> None:
        """Everything that is due, whether or not a frame arrived."""
        self._drain_commands(now)
        self._publish_camera()
        self._check_stall()
        self._publish_events(self._tracker.observe(self.steady.posture, now))
        dirty = self._tracker.take_dirty()
        if self._calibrator is not None and self._calibrator.done(now):
            self._finish_calibration(now)
        self.publish_state(now)
        if "stats" in dirty or now - self._last_stats_at >= self.config.stats.publish_interval_s:
            self.publish_stats(now)
        if "history" in dirty or now - self._last_history_at >= HISTORY_INTERVAL_S:
            self.publish_history(now)
        if self._republish_at is not None and now >= self._republish_at:
            self._republish_at = None
            log.info("Home Assistant came online; republishing discovery and state")
            self._link.republish()
        self._feed_watchdog()

    def _check_stall(self) -> None:
        last = self._capture.last_frame_mono
        if self.settings.monitoring and last is not None and self._camera_state == "connected":
            idle = time.monotonic() - last
            if idle >= self.config.camera.stall_s:
                self._capture.mark_stalled(idle)

    def _feed_watchdog(self) -> None:
        """Feed systemd only while the pipeline makes progress (capture thread alive and looping)."""
        ticks = self._capture.ticks
        if ticks != self._last_capture_ticks:
            self._last_capture_ticks = ticks
            self._last_progress_mono = time.monotonic()
        now = time.monotonic()
        progressing = now - self._last_progress_mono < self.config.camera.stall_s * 2
        if progressing and now - self._last_watchdog_mono >= self._watchdog_interval_s:
            self._last_watchdog_mono = now
            self._notifier.watchdog()

    def run(self, stop: threading.Event) -> None:
        """Process frames until `stop` is set."""
        self.publish_startup()
        if not self.settings.monitoring:
            self._capture.pause()
        self._capture.start()
        self._notifier.ready()
        while not stop.is_set():
            frame = self._slot.take(LOOP_TIMEOUT_S)
            if frame is not None and self.settings.monitoring:
                try:
                    self._drain_commands(self._clock())
                    if self.settings.monitoring:
                        self.process(frame)
                except InvalidFrame as exc:
                    self.errors.report(f"frame {frame.seq} ({exc})", exc)
                except Exception as exc:
                    self.errors.report(f"processing frame {frame.seq}", exc)
            try:
                self.tick(self._clock())
            except Exception as exc:
                self.errors.report("housekeeping", exc)

    def shutdown(self) -> None:
        """Release the camera and clear what must not outlive the node."""
        self._notifier.stopping()
        self._capture.stop(timeout=1.0)
        now = self._clock()
        self._tracker.close(now)
        self._clear_frame()
