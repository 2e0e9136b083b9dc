"""DeskPulse Edge: a posture monitor that publishes retained MQTT state."""

__version__ = "0.2.0"
