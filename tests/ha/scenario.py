"""The node the Home Assistant tests (and the docs screenshot) run: its config, entities and watcher."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support import ROOT, Daemon, Mosquitto, Received, Watcher

NODE = "ha-desk"
DEVICE_NAME = "DeskPulse HA desk"
DASHBOARD_URL = "http://deskpulse.example:8080/"
KEEPALIVE_S = 5
EXAMPLE_AUTOMATIONS = ROOT / "docs" / "ha-automations.yaml"

# The public contract (docs/homeassistant.md): entity ids are deskpulse_<node>_<key>, '-' → '_';
# the value is the entity category.
ENTITIES = {
    "sensor.deskpulse_ha_desk_posture": None,
    "binary_sensor.deskpulse_ha_desk_bad_posture": None,
    "binary_sensor.deskpulse_ha_desk_presence": None,
    "sensor.deskpulse_ha_desk_score": None,
    "sensor.deskpulse_ha_desk_good_minutes": None,
    "sensor.deskpulse_ha_desk_bad_minutes": None,
    "camera.deskpulse_ha_desk_camera": None,
    "event.deskpulse_ha_desk_alert": None,
    "switch.deskpulse_ha_desk_monitoring": None,
    "switch.deskpulse_ha_desk_frames": "config",
    "number.deskpulse_ha_desk_alert_minutes": "config",
    "select.deskpulse_ha_desk_sensitivity": "config",
    "select.deskpulse_ha_desk_rotation": "config",
    "number.deskpulse_ha_desk_cpu_budget": "config",
    "button.deskpulse_ha_desk_calibrate": "config",
    "sensor.deskpulse_ha_desk_calibration": "diagnostic",
    "sensor.deskpulse_ha_desk_camera_state": "diagnostic",
    "sensor.deskpulse_ha_desk_fps": "diagnostic",
    "sensor.deskpulse_ha_desk_inference_ms": "diagnostic",
    "sensor.deskpulse_ha_desk_dropped_frames": "diagnostic",
}


def example_automations() -> str:
    """docs/ha-automations.yaml, written for node `desk`, made to point at this node."""
    return EXAMPLE_AUTOMATIONS.read_text().replace("deskpulse_desk_", "deskpulse_ha_desk_")


class Node:
    """The daemon under test (restartable, same data dir) and a watcher of what it publishes."""

    def __init__(self, workdir: Path, broker: Mosquitto, source: Path) -> None:
        self.workdir = workdir
        self.broker = broker
        self.config = workdir / "deskpulse.toml"
        self.config.write_text(
            f'node_id = "{NODE}"\n'
            f'name = "{DEVICE_NAME}"\n'
            f'data_dir = "{workdir / "data"}"\n'
            f'dashboard_url = "{DASHBOARD_URL}"\n'
            "[camera]\n"
            f'source = "{source}"\nloop = true\nmax_fps = 4\n'
            "[mqtt]\n"
            f'broker = "{broker.url}"\nkeepalive = {KEEPALIVE_S}\n'
            "[posture]\ncalibrate_s = 1\n"
            "[stats]\npublish_interval_s = 5\n"
        )
        self.daemon: Daemon | None = None
        self.watcher = Watcher(broker.port, ("deskpulse/#", "homeassistant/#")).wait_connected()

    def start(self, **env: str) -> Daemon:
        self.daemon = Daemon(["--config", str(self.config)], self.workdir, env=dict(env)).start()
        return self.daemon

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()

    def close(self) -> None:
        self.stop()
        self.watcher.close()

    def topic(self, leaf: str) -> str:
        return f"deskpulse/{NODE}/{leaf}"

    def latest(self, leaf: str) -> Received | None:
        messages = self.watcher.on(self.topic(leaf))
        return messages[-1] if messages else None

    def state(self) -> dict[str, Any]:
        latest = self.latest("state")
        assert latest is not None, "the node published no state"
        return dict(latest.json())
