"""Commands from MQTT: settings, monitoring on and off, and calibration.

Every command arrives validated (`edge_node.mqtt.commands`); a rejected one changes nothing and is
answered with a `command_rejected` event and a warning. An applied one is saved, takes effect, and its
`<setting>/state` is published again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from edge_node.config import Config
from edge_node.datadir import JsonStore
from edge_node.mqtt.commands import Command, Rejection
from edge_node.node.engine import CHECKING, STARTING_CAMERA, PostureEngine
from edge_node.node.publisher import Publisher
from edge_node.node.settings import SettingsKeeper
from edge_node.posture.calibration import CalibrationRefused, Calibrator
from edge_node.posture.geometry import Baseline, Reading
from edge_node.stats.tracker import Tracker
from edge_node.vision.capture import Capture
from edge_node.vision.frames import LatestSlot
from edge_node.vocabulary import SETTINGS, CalibrationState, Posture, Setting

log = logging.getLogger(__name__)

CALIBRATION_FILE: Final = "calibration"


class Controller:
    """Applies commands to the settings, the camera, the engine and the calibration."""

    def __init__(
        self,
        config: Config,
        *,
        settings: SettingsKeeper,
        engine: PostureEngine,
        publisher: Publisher,
        camera: Capture,
        slot: LatestSlot,
        alerts: Tracker,
        store: JsonStore,
        publish_state: Callable[[float, bool], None],
        posture_changed: Callable[[Posture, float], None],
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._settings = settings
        self._engine = engine
        self._publisher = publisher
        self._camera = camera
        self._slot = slot
        self._alerts = alerts
        self._store = store
        self._publish_state = publish_state
        self._posture_changed = posture_changed
        self._mono = mono  # calibration is timed on it: a wall-clock step neither ends nor prolongs it
        self.baseline: Baseline | None = store.load(CALIBRATION_FILE, Baseline)
        self._calibrator: Calibrator | None = None
        alerts.set_alert_minutes(float(settings.current.alert_minutes))

    # ------------------------------------------------------------------ settings

    @property
    def calibrating(self) -> bool:
        """A calibration is recording (every frame must go through the model)."""
        return self._calibrator is not None

    @property
    def calibration_state(self) -> CalibrationState:
        """What `calibrate/state` says."""
        if self._calibrator is not None:
            return "calibrating"
        return "calibrated" if self.baseline is not None else "uncalibrated"

    def setting_value(self, setting: Setting) -> str:
        """The text of `<setting>/state`."""
        if setting == "calibrate":
            return self.calibration_state
        return self._settings.current.state_payload(setting)

    def publish_setting(self, setting: Setting) -> None:
        """Publish one `<setting>/state`."""
        self._publisher.setting(setting, self.setting_value(setting))

    def publish_settings(self) -> None:
        """Publish every `<setting>/state`."""
        for setting in SETTINGS:
            self.publish_setting(setting)

    def reject(self, rejection: Rejection) -> None:
        """A command that changes nothing: a warning and a `command_rejected` event."""
        setting, payload, reason = rejection.setting, rejection.payload, rejection.reason
        log.warning(
            "rejected command on %s/%s/set (%r): %s", self._publisher.topics.base, setting, payload, reason
        )
        self._publisher.event(
            "command_rejected", f"{setting}: {reason}", setting=setting, payload=payload, reason=reason
        )

    def apply(self, command: Command, now: float) -> None:
        """Apply a valid command; an unchanged value is confirmed on `<setting>/state` only."""
        if command.setting == "calibrate":
            self.start_calibration(now)
            return
        if not self._settings.change(command.setting, command.value):
            self.publish_setting(command.setting)
            return
        current = self._settings.current
        log.info("%s set to %s", command.setting, current.state_payload(command.setting))
        if command.setting == "monitoring":
            self.set_monitoring(bool(command.value), now)
        elif command.setting == "frames" and not command.value:
            self._publisher.clear_frame()
        elif command.setting == "frames":
            self._publisher.allow_frame_now()
        elif command.setting == "alert_minutes":
            self._alerts.set_alert_minutes(float(current.alert_minutes))
        elif command.setting == "rotation" and current.monitoring:
            self._engine.force("unknown", now, reason=CHECKING)  # a new picture: judge it afresh
        self.publish_setting(command.setting)
        self._publish_state(now, False)

    def set_monitoring(self, on: bool, now: float) -> None:
        """Resume (reopen the camera) or pause (release it, forget the scene, clear the frame)."""
        if on:
            self._camera.resume()
            self._engine.force("unknown", now, reason=STARTING_CAMERA)
        else:
            self._camera.pause()
            self._slot.clear()
            if self._calibrator is not None:
                self._calibrator = None
                self._calibration_failed("monitoring was turned off during calibration")
            self._engine.force("paused", now)
            self._publisher.clear_frame()
        self._posture_changed(self._engine.posture, now)

    # ------------------------------------------------------------------ calibration

    def start_calibration(self, now: float) -> None:
        """Start recording the user's good posture (refused while monitoring is off)."""
        if not self._settings.current.monitoring:
            self._calibration_failed("monitoring is off; turn it on to calibrate")
            return
        if self._calibrator is not None:
            log.info("calibration already running")
            return
        seconds = self._config.posture.calibrate_s
        self._calibrator = Calibrator(started_at=self._mono(), duration_s=seconds)
        log.info("calibrating for %.0f s: sit in your usual good posture", seconds)
        self.publish_setting("calibrate")

    def observe(self, reading: Reading) -> None:
        """Give a running calibration the frame's reading."""
        if self._calibrator is not None:
            self._calibrator.add(reading)

    def finish_due_calibration(self, now: float) -> None:
        """End a calibration whose time is up: store the baseline, or say why not."""
        calibrator = self._calibrator
        if calibrator is None or not calibrator.done(self._mono()):
            return
        self._calibrator = None
        try:
            baseline = calibrator.finish(now)
        except CalibrationRefused as exc:
            self._calibration_failed(str(exc))
            return
        self.baseline = baseline
        try:
            self._store.save(CALIBRATION_FILE, baseline)
        except OSError as exc:
            log.error(
                "cannot save the calibration in %s (%s); it holds until the node restarts",
                self._store.path(CALIBRATION_FILE),
                exc.strerror or exc,
            )
        log.info("calibrated from %d frames: %s", baseline.frames, baseline.measures)
        self._publisher.event(
            "calibrated",
            f"calibrated from {baseline.frames} frames",
            view=baseline.view,
            measures=baseline.measures,
            frames=baseline.frames,
        )
        self.publish_setting("calibrate")
        self._publish_state(now, True)

    def _calibration_failed(self, reason: str) -> None:
        log.warning("calibration refused: %s", reason)
        self._publisher.event("calibration_failed", reason, reason=reason)
        self.publish_setting("calibrate")
