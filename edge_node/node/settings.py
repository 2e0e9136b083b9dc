"""The runtime settings: the config's values, overridden by what was set over MQTT (kept on disk)."""

from __future__ import annotations

import logging
from typing import Final

from edge_node.config import Config
from edge_node.datadir import JsonStore
from edge_node.mqtt.commands import RuntimeSettings, SettingOverrides

log = logging.getLogger(__name__)

SETTINGS_FILE: Final = "settings"


class SettingsKeeper:
    """Owns `RuntimeSettings`; a change made over MQTT is saved and wins over the config from then on."""

    def __init__(self, config: Config, store: JsonStore) -> None:
        self._store = store
        defaults = RuntimeSettings(
            frames=config.frames.enabled,
            alert_minutes=config.alerts.alert_minutes,
            sensitivity=config.posture.sensitivity,
            rotation=config.camera.rotation,
            cpu_budget=config.pipeline.cpu_budget,
        )
        self._overrides = store.load(SETTINGS_FILE, SettingOverrides) or SettingOverrides()
        self.current = self._overrides.apply_to(defaults)
        for name in self._overrides.model_dump(exclude_none=True):
            if getattr(self.current, name) != getattr(defaults, name):
                log.info(
                    "using %s = %s, set over MQTT (kept in the data dir)", name, getattr(self.current, name)
                )

    def change(self, name: str, value: object) -> bool:
        """Set `name` to `value` and save it; False (nothing saved) when it already had that value."""
        if getattr(self.current, name) == value:
            return False
        setattr(self.current, name, value)
        setattr(self._overrides, name, value)
        try:
            self._store.save(SETTINGS_FILE, self._overrides)
        except OSError as exc:
            log.error(
                "cannot save the settings in %s (%s); %s = %s holds until the node restarts",
                self._store.path(SETTINGS_FILE),
                exc.strerror or exc,
                name,
                value,
            )
        return True
