"""The processing loop: take the newest frame, judge it, publish; run what is due between frames.

All node state is owned by the thread that calls `Node.run()`; the capture thread and paho's
network thread only hand things over (the frame slot, the inbox). `Node` composes the parts, each
owning one thing: the engine (the scene), the controller (commands), the publisher (what goes out
and when), the watchdog (health).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Final

from edge_node import __version__
from edge_node.config import Config, redact_url
from edge_node.datadir import JsonStore
from edge_node.mqtt.commands import Rejection
from edge_node.mqtt.discovery import discovery_cleanup, discovery_messages
from edge_node.mqtt.topics import DiscoveryTopics, NodeTopics
from edge_node.node.controller import Controller
from edge_node.node.engine import STARTING_CAMERA, Estimator, PostureEngine
from edge_node.node.health import (
    PROCESSING_FAILED,
    ErrorLog,
    FailingFrames,
    PipelineMetrics,
    ProcessMeter,
    Watchdog,
)
from edge_node.node.inbox import Connected, HaBirth, Inbox
from edge_node.node.judging import Judging, pace_for
from edge_node.node.publisher import Link, Publisher
from edge_node.node.settings import SettingsKeeper
from edge_node.payloads import Info, Stats
from edge_node.posture.geometry import Reading
from edge_node.stats.tracker import Tracker
from edge_node.vision.capture import Capture
from edge_node.vision.frames import Frame, InvalidFrame, LatestSlot
from edge_node.watchdog import SystemdNotifier

log = logging.getLogger(__name__)

LOOP_TIMEOUT_S: Final = 0.2
HA_REPUBLISH_DELAY_S: Final = (1.0, 5.0)


class Node:
    """One desk: composes engine, controller, publisher and health checks around the frame loop."""

    def __init__(
        self,
        config: Config,
        *,
        link: Link,
        capture: Capture,
        slot: LatestSlot,
        estimator: Estimator,
        tracker: Tracker,
        store: JsonStore,
        notifier: SystemdNotifier | None = None,
        clock: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
        dashboard_url: str | None = None,
    ) -> None:
        self.config = config
        self._capture = capture
        self._slot = slot
        self._estimator = estimator
        self._tracker = tracker
        self._store = store
        self._notifier = notifier or SystemdNotifier({})
        self._clock = clock
        self._mono = mono
        self._dashboard_url = dashboard_url
        self._rng = random.Random()
        self.started_at = clock()
        self.inbox = Inbox(
            NodeTopics(config.node_id),
            DiscoveryTopics(config.node_id, config.homeassistant.discovery_prefix),
            ha_enabled=config.homeassistant.enabled,
        )
        self.settings = SettingsKeeper(config, store)
        self.engine = PostureEngine(config.posture, estimator, self.started_at)
        self.publisher = Publisher(config, link, clock=clock, mono=mono)
        self.controller = Controller(
            config,
            settings=self.settings,
            engine=self.engine,
            publisher=self.publisher,
            camera=capture,
            slot=slot,
            alerts=tracker,
            store=store,
            publish_state=lambda now, force: self.publish_state(now, force=force),
            posture_changed=lambda posture, now: self.publisher.events(tracker.observe(posture, now)),
            mono=mono,
        )
        self.errors = ErrorLog(mono=mono)
        self.failing = FailingFrames(config.posture.unknown_after_s)
        self.metrics = PipelineMetrics()
        self.meter = ProcessMeter(mono)
        self.judging = Judging(
            self.engine, pace_for(config, self.settings.current.cpu_budget), self.metrics, mono=mono
        )
        self.watchdog = Watchdog(capture, self._notifier, stall_s=config.camera.stall_s, mono=mono)
        self._camera_version = -1
        self._camera_state = "disconnected"
        self._republish_at: float | None = None

    # ------------------------------------------------------------------ what is published

    def publish_info(self) -> None:
        """The retained `info`: version, model, protocol, effective config."""
        self.publisher.info(
            Info(
                node=self.config.node_id,
                version=__version__,
                model=self._estimator.model_name,
                started_at=self.started_at,
                mqtt_protocol=self.publisher.link.protocol_name,
                dashboard_url=self._dashboard_url,
                config=self.config.redacted(),
            )
        )

    def publish_state(self, now: float, *, force: bool = False) -> None:
        """Publish `state` if it changed, the heartbeat is due, or `force`."""
        self.publisher.state(
            self.engine.state(
                now,
                node_id=self.config.node_id,
                bad_for_s=self._tracker.bad_for_s(now),
                calibrated=self.controller.baseline is not None,
                sensitivity=self.settings.current.sensitivity,
            ),
            force=force,
        )

    def publish_stats(self, now: float) -> None:
        """The retained `stats`: today's totals and the pipeline's health."""
        mono = self._mono()
        self.publisher.stats(
            Stats(
                node=self.config.node_id,
                today=self._tracker.today(now),
                pipeline_fps=self.metrics.fps(mono),
                inference_fps=self.metrics.inference_fps(mono),
                inference_ms=self.metrics.inference_ms(),
                dropped_frames=self._slot.dropped,
                processed_frames=self.metrics.processed_total,
                inferred_frames=self.metrics.inferred_total,
                pace=self.judging.pace.mode,
                cpu_cores=self.meter.cores(),
                cpu_budget=self.judging.pace.config.cpu_budget,
                uptime_s=self.meter.uptime_s(),
                rss_mb=self.meter.rss_mb(),
                ts=now,
            )
        )

    def _publish_camera(self) -> None:
        version, status = self._capture.status(redact_url(self.config.camera.source))
        if version == self._camera_version:
            return
        self._camera_version = version
        self._camera_state = status.state
        self.publisher.camera(status)
        if status.state == "disconnected" and self.settings.current.monitoring:
            reason = f"camera {status.error.kind.replace('_', ' ')}" if status.error else STARTING_CAMERA
            now = self._clock()
            self.engine.force("unknown", now, reason=reason)
            self.publish_state(now)
            if self.settings.current.frames and status.error is not None:
                self.publisher.clear_frame()  # no picture of a scene the camera no longer sees

    def publish_startup(self) -> None:
        """Everything retained, in the order a new subscriber wants it."""
        now = self._clock()
        self.publisher.send_all(discovery_cleanup(self.config, self._store))
        self.publisher.send_all(
            discovery_messages(self.config, version=__version__, dashboard_url=self._dashboard_url)
        )
        self.publish_info()
        self.controller.publish_settings()
        settings = self.settings.current
        if not settings.monitoring:
            self.engine.force("paused", now)
        if not settings.monitoring or not settings.frames:
            self.publisher.clear_frame()
        self._publish_camera()
        self.publish_state(now, force=True)
        self.publish_stats(now)
        self.publisher.history(self._tracker.history(now))

    # ------------------------------------------------------------------ the loop

    def _drain_inbox(self, now: float) -> None:
        for item in self.inbox.drain():
            if isinstance(item, HaBirth):
                self._republish_at = self._mono() + self._rng.uniform(*HA_REPUBLISH_DELAY_S)
            elif isinstance(item, Connected):
                if self.publisher.info_outdated():
                    self.publish_info()
            elif isinstance(item, Rejection):
                self.controller.reject(item)
            else:
                self.controller.apply(item, now)

    def process(self, frame: Frame) -> Reading:
        """One frame: judged by the model or held (the pace decides); publishes state and the picture."""
        settings = self.settings.current
        judged = self.judging.frame(
            frame, settings, baseline=self.controller.baseline, calibrating=self.controller.calibrating
        )
        if judged.fresh:
            self.controller.observe(judged.reading)
        self.publish_state(self._clock())
        self.publisher.picture(
            judged.frame,
            frames=settings.frames,
            fresh=judged.fresh,
            posture=self.engine.posture,
            explain=lambda: self.engine.explain(
                sensitivity=settings.sensitivity, baseline=self.controller.baseline
            ),
        )
        self._capture.set_rate(self.judging.capture_fps(calibrating=self.controller.calibrating))
        return judged.reading

    def tick(self, now: float) -> None:
        """Everything that is due, whether or not a frame arrived."""
        self._drain_inbox(now)
        self._publish_camera()
        self.watchdog.check_stall(
            expecting_frames=self.settings.current.monitoring and self._camera_state == "connected"
        )
        self.publisher.events(self._tracker.observe(self.engine.posture, now))
        dirty = self._tracker.take_dirty()
        self.controller.finish_due_calibration(now)
        self.publish_state(now)
        if "stats" in dirty or self.publisher.stats_due(now):
            self.publish_stats(now)
        if "history" in dirty or self.publisher.history_due(now):
            self.publisher.history(self._tracker.history(now))
        if self._republish_at is not None and self._mono() >= self._republish_at:
            self._republish_at = None
            log.info("Home Assistant came online; republishing discovery and state")
            self.publisher.link.republish()
        self.watchdog.feed()

    def run(self, stop: threading.Event) -> None:
        """Process frames until `stop` is set."""
        self.publish_startup()
        if not self.settings.current.monitoring:
            self._capture.pause()
        self._capture.start()
        self._notifier.ready()
        while not stop.is_set():
            frame = self._slot.take(LOOP_TIMEOUT_S)
            if frame is not None and self.settings.current.monitoring:
                try:
                    self._drain_inbox(self._clock())
                    if self.settings.current.monitoring:
                        self.process(frame)
                except InvalidFrame as exc:
                    self._frame_failed("checking a frame", exc)
                except Exception as exc:
                    self._frame_failed("processing a frame", exc)
            try:
                self.tick(self._clock())
            except Exception as exc:
                self.errors.report("housekeeping", exc)

    def _frame_failed(self, where: str, exc: Exception) -> None:
        """Log it (bounded); once frames have failed for unknown_after_s, publish `unknown` and why."""
        self.errors.report(where, exc)
        if self.failing.failed(self._mono(), self.metrics.processed_total):
            self.engine.force("unknown", self._clock(), reason=PROCESSING_FAILED)

    def shutdown(self) -> None:
        """Release the camera and clear what must not outlive the node."""
        self._notifier.stopping()
        self._capture.stop(timeout=1.0)
        self._tracker.close(self._clock())
        self.publisher.clear_frame()
