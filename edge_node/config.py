"""Configuration as pydantic models, layered: defaults < TOML file < DESKPULSE_* environment < flags.

File loading and environment parsing are kept apart from `Config.model_validate(dict)`, so tests
build real configs from plain dicts.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from edge_node.errors import EdgeNodeError
from edge_node.vocabulary import (
    ALERT_MINUTES_MAX,
    ALERT_MINUTES_MIN,
    CPU_BUDGET_MAX,
    CPU_BUDGET_MIN,
    Rotation,
    Sensitivity,
    is_valid_node_id,
    slugify_node_id,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ENV_PREFIX = "DESKPULSE_"
ENV_CONFIG_FILE = "DESKPULSE_CONFIG"


class ConfigError(EdgeNodeError):
    """Configuration that cannot be used; `str()` is one line for a person to read."""


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CameraConfig(Section):
    """Where frames come from and how fast."""

    source: str = Field(
        "0",
        min_length=1,
        description="Camera index, V4L2 device path, video file, image file, image folder, or rtsp/http URL",
    )
    loop: bool = Field(False, description="Replay a file source forever")
    max_fps: float = Field(10.0, gt=0, le=120, description="Most frames per second handed to pose detection")
    width: int | None = Field(None, ge=160, le=3840, description="Capture width asked of a camera")
    height: int | None = Field(None, ge=120, le=2160, description="Capture height asked of a camera")
    retry_min_s: float = Field(1.0, gt=0, le=60, description="First retry delay after a camera error")
    retry_max_s: float = Field(30.0, gt=0, le=600, description="Cap of the exponential retry delay")
    stall_s: float = Field(5.0, gt=0, le=300, description="No frame for this long marks the camera degraded")
    rotation: Rotation = Field(
        0, description="Turn the picture clockwise by 0, 90, 180 or 270 degrees (a camera mounted sideways)"
    )

    @field_validator("rotation", mode="before")
    @classmethod
    def _rotation_number(cls, value: object) -> object:
        """Environment variables and flags arrive as text: "90" means 90."""
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        return value


@dataclass(frozen=True)
class BrokerAddress:
    """A parsed `mqtt://[user:pass@]host[:port]` or `mqtts://…` URL."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    def redacted(self) -> str:
        """The URL without the password."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}:***@" if self.password else (f"{self.username}@" if self.username else "")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}{host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    """Parse a broker URL; raise ValueError with the allowed form."""
    allowed = "must look like mqtt://[user:pass@]host[:port] or mqtts://[user:pass@]host[:port]"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(allowed) from exc
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise ValueError(allowed)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(allowed)
    tls = parts.scheme in ("mqtts", "ssl")
    return BrokerAddress(
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class MqttConfig(Section):
    """The broker the node publishes to. No broker means the embedded one."""

    broker: str | None = Field(
        None, description="mqtt://[user:pass@]host:port or mqtts://…; empty = embedded"
    )
    username: str | None = Field(None, description="Overrides the user in the URL")
    password: SecretStr | None = Field(None, description="Overrides the password in the URL")
    password_file: Path | None = Field(None, description="File whose first line is the password")
    ca_file: Path | None = Field(None, description="CA bundle for mqtts:// (default: system CAs)")
    cert_file: Path | None = Field(None, description="Client certificate for mqtts://")
    key_file: Path | None = Field(None, description="Client key for mqtts://")
    tls_insecure: bool = Field(False, description="Skip the server host name check (testing only)")
    keepalive: int = Field(15, ge=5, le=600, description="Seconds; the Last Will fires after 1.5x this")
    reconnect_max_s: int = Field(4, ge=1, le=300, description="Cap of the reconnect delay")
    protocol: Literal["auto", "5", "3.1.1"] = Field("auto", description="auto: MQTT 5, else 3.1.1")
    client_id: str | None = Field(None, description="Default deskpulse-<node id>")

    @field_validator("broker")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parse_broker_url(value)
        return value

    def address(self) -> BrokerAddress | None:
        """The broker address with credentials resolved, or None for the embedded broker."""
        if self.broker is None:
            return None
        address = parse_broker_url(self.broker)
        username = self.username or address.username
        password = address.password
        if self.password is not None:
            password = self.password.get_secret_value()
        if self.password_file is not None:
            try:
                password = self.password_file.read_text(encoding="utf-8").splitlines()[0].strip()
            except (OSError, IndexError) as exc:
                raise ConfigError(
                    f"mqtt.password_file = '{self.password_file}': cannot read a password from it"
                ) from exc
        return BrokerAddress(address.host, address.port, address.tls, username, password)


class EmbeddedBrokerConfig(Section):
    """The in-process broker used when no broker URL is given."""

    listen: str = Field("127.0.0.1", description="Address to bind; 0.0.0.0 opens it to the LAN on purpose")
    mqtt_port: int = Field(1883, ge=0, le=65535, description="MQTT over TCP (0 = any free port)")
    ws_port: int = Field(9001, ge=0, le=65535, description="MQTT over WebSockets (0 = any free port)")
    http_port: int = Field(8080, ge=0, le=65535, description="Dashboard over HTTP (0 = any free port)")


class PipelineConfig(Section):
    """When the pose model runs: only when the scene changes (adaptive), within a CPU budget."""

    cpu_budget: float = Field(
        0.25,
        ge=CPU_BUDGET_MIN,
        le=CPU_BUDGET_MAX,
        description="Cores the pose model may use on average (measured from its own inference time)",
    )
    adaptive: bool = Field(
        True, description="Run the model only when it can change the answer (false: on every frame)"
    )
    gate_fps: float = Field(
        2.0, gt=0, le=30, description="Frames a second the scene-change gate sees while still"
    )
    still_after_s: float = Field(
        3.0, ge=0, le=60, description="No change for this long counts as a still scene"
    )
    refresh_s: float = Field(
        1.0, gt=0, le=60, description="The model looks again this often on a still scene"
    )
    refresh_empty_s: float = Field(
        4.0, gt=0, le=300, description="The model looks again this often at an empty desk"
    )
    change_threshold: float = Field(
        12.0, gt=0, le=255, description="Scene change (grey levels, mean) that wakes the model at once"
    )


class FramesConfig(Section):
    """Throttled JPEG frames on `frame`."""

    enabled: bool = Field(True, description="Publish frames at all")
    interval_s: float = Field(1.0, ge=0.2, le=3600, description="At most one frame per this many seconds")
    width: int = Field(640, ge=80, le=1280, description="Frames are downscaled to at most this width")
    quality: int = Field(70, ge=10, le=95, description="JPEG quality")
    max_bytes: int = Field(40_000, ge=2_000, le=1_000_000, description="Lower quality until under this")
    expiry_s: int = Field(10, ge=1, le=3600, description="MQTT 5 message expiry of the retained frame")
    overlay: bool = Field(
        False,
        description="Draw the skeleton and the measures into the published frames (for clients that "
        "cannot draw: Home Assistant's camera, mosquitto_sub)",
    )


class PostureConfig(Section):
    """Posture verdicts and how steady they must be."""

    sensitivity: Sensitivity = Field("medium", description="low / medium / high thresholds")
    bad_after_s: float = Field(3.0, ge=0, le=600, description="Bad must hold this long to be published")
    good_after_s: float = Field(1.5, ge=0, le=600, description="Good must hold this long to be published")
    away_after_s: float = Field(10.0, ge=0, le=3600, description="No person this long means away")
    unknown_after_s: float = Field(3.0, ge=0, le=600, description="No verdict this long means unknown")
    heartbeat_s: float = Field(30.0, ge=1, le=30, description="State is republished at least this often")
    calibrate_s: float = Field(5.0, ge=1, le=60, description="How long calibration records")
    pose_max_hz: float = Field(5.0, ge=0, le=30, description="`pose` messages per second at most (0: none)")
    model_complexity: Literal[0, 1, 2] = Field(1, description="MediaPipe pose model (1 = bundled full)")
    tracking: bool = Field(
        False,
        description="Track between frames (faster; a person who left can linger up to 2 s) "
        "instead of detecting on every frame",
    )


class AlertsConfig(Section):
    """Alerts for sustained bad posture and the daily summary."""

    alert_minutes: float = Field(
        10.0, ge=ALERT_MINUTES_MIN, le=ALERT_MINUTES_MAX, description="Bad posture this long raises an alert"
    )
    grace_s: float = Field(30.0, ge=0, le=600, description="Interruptions shorter than this keep the timer")
    cooldown_minutes: float = Field(5.0, ge=1, le=240, description="Repeat the alert this often")
    daily_summary_at: str = Field("18:00", description="Local time HH:MM of the daily_summary event")
    timezone: str | None = Field(None, description="IANA zone for days; default: the system's")

    @field_validator("daily_summary_at")
    @classmethod
    def _valid_time(cls, value: str) -> str:
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value)
        if not match:
            raise ValueError("must be a local time HH:MM, e.g. 18:00")
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as Europe/Berlin") from exc
        return value


class StatsConfig(Section):
    """Daily statistics and history."""

    goal: float = Field(80.0, ge=1, le=100, description="Score (%) that counts a day toward a streak")
    retention_days: int = Field(90, ge=7, le=3650, description="Days kept in the store")
    publish_interval_s: float = Field(30.0, ge=1, le=30, description="`stats` at most this often")
    flush_interval_s: float = Field(
        60.0,
        ge=5,
        le=600,
        description="Statistics are written to the data dir this often; a power cut loses at most this much",
    )


class HomeAssistantConfig(Section):
    """MQTT discovery for Home Assistant."""

    enabled: bool = Field(True, description="Publish discovery")
    discovery_prefix: str = Field("homeassistant", pattern=r"^[A-Za-z0-9_-]+$")
    mode: Literal["device", "components"] = Field(
        "device", description="device: one config (HA 2024.11+); components: one per entity (older HA)"
    )


def default_node_id() -> str:
    """The host name, made into a valid node id."""
    return slugify_node_id(socket.gethostname())


def default_data_dir() -> Path:
    """`$XDG_STATE_HOME/deskpulse-edge`, else `~/.local/state/deskpulse-edge`."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "deskpulse-edge"


class Config(Section):
    """The whole effective configuration."""

    node_id: str = Field(default_factory=default_node_id, description="Topic level, [a-z0-9_-]+")
    name: str | None = Field(None, max_length=64, description="Display name (default: DeskPulse <node>)")
    data_dir: Path = Field(default_factory=default_data_dir, description="Settings, calibration, stats")
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log verbosity")
    dashboard_url: str | None = Field(None, description="Where people open the dashboard (for HA links)")
    camera: CameraConfig = Field(default_factory=CameraConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    broker: EmbeddedBrokerConfig = Field(default_factory=EmbeddedBrokerConfig)
    frames: FramesConfig = Field(default_factory=FramesConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    posture: PostureConfig = Field(default_factory=PostureConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    stats: StatsConfig = Field(default_factory=StatsConfig)
    homeassistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)

    @field_validator("node_id")
    @classmethod
    def _valid_node_id(cls, value: str) -> str:
        if not is_valid_node_id(value):
            raise ValueError("must use only a-z, 0-9, '_' and '-'")
        return value

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Config:
        if self.camera.retry_max_s < self.camera.retry_min_s:
            raise ValueError("camera.retry_max_s must be at least camera.retry_min_s")
        tls_files = (self.mqtt.ca_file, self.mqtt.cert_file, self.mqtt.key_file)
        if any(tls_files) and self.mqtt.broker and not parse_broker_url(self.mqtt.broker).tls:
            raise ValueError("mqtt.ca_file/cert_file/key_file need an mqtts:// broker")
        if (self.mqtt.cert_file is None) != (self.mqtt.key_file is None):
            raise ValueError("mqtt.cert_file and mqtt.key_file go together")
        return self

    @property
    def display_name(self) -> str:
        """The name people see: `name`, else `DeskPulse <node id>`."""
        return self.name or f"DeskPulse {self.node_id}"

    def tool_address(self) -> BrokerAddress:
        """The broker a command-line tool talks to: the configured one, else the local embedded one."""
        return self.mqtt.address() or BrokerAddress("127.0.0.1", self.broker.mqtt_port, tls=False)

    def redacted(self) -> dict[str, Any]:
        """The effective config for `info`: secrets removed, paths as strings."""
        data = self.model_dump(mode="json")
        mqtt = data["mqtt"]
        address = self.mqtt.address() if self.mqtt.broker and not self.mqtt.password_file else None
        if self.mqtt.broker:
            mqtt["broker"] = (address or parse_broker_url(self.mqtt.broker)).redacted()
        mqtt["password"] = "***" if self.mqtt.password else None
        data["camera"]["source"] = redact_url(self.camera.source)
        return data


def redact_url(text: str) -> str:
    """Replace the password of any `scheme://user:pass@host` in `text` with ***."""
    return re.sub(r"(://[^/:@\s]*:)[^@/\s]*@", r"\1***@", text)


# --------------------------------------------------------------------------- layering


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML config file."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file '{path}' does not exist") from exc
    except OSError as exc:
        raise ConfigError(f"config file '{path}' cannot be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file '{path}' is not valid TOML: {exc}") from exc


def _field_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    """Map DESKPULSE_* variable names to field paths, e.g. DESKPULSE_CAMERA__MAX_FPS."""
    paths: dict[str, tuple[str, ...]] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            paths.update(_field_paths(annotation, (*prefix, name)))
        else:
            path = (*prefix, name)
            paths[ENV_PREFIX + "__".join(path).upper()] = path
    return paths


ENV_FIELDS = _field_paths(Config)


def env_layer(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """The DESKPULSE_* variables as a nested dict, and where each value came from."""
    layer: dict[str, Any] = {}
    origins: dict[tuple[str, ...], str] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_CONFIG_FILE:
            continue
        path = ENV_FIELDS.get(key)
        if path is None:
            raise ConfigError(f"unknown environment variable {key} (see the config reference in README.md)")
        _set_path(layer, path, value)
        origins[path] = key
    return layer, origins


def _set_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _flatten(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    flat: dict[tuple[str, ...], Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, (*prefix, key)))
        else:
            flat[(*prefix, key)] = value
    return flat


def build_config(
    *,
    file_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[tuple[str, ...], tuple[str, Any]] | None = None,
) -> Config:
    """Layer defaults < TOML file < environment < flags and validate; raise ConfigError.

    `flags` maps a field path to (flag name, value), so errors can name the flag.
    """
    environ = os.environ if environ is None else environ
    if file_path is None and environ.get(ENV_CONFIG_FILE):
        file_path = Path(environ[ENV_CONFIG_FILE])
    origins: dict[tuple[str, ...], str] = {}
    merged: dict[str, Any] = {}
    if file_path is not None:
        file_layer = load_toml(file_path)
        merged = _merge(merged, file_layer)
        origins.update({path: f"{file_path}" for path in _flatten(file_layer)})
    env_values, env_origins = env_layer(environ)
    merged = _merge(merged, env_values)
    origins.update(env_origins)
    for path, (flag, value) in (flags or {}).items():
        flag_layer: dict[str, Any] = {}
        _set_path(flag_layer, path, value)
        merged = _merge(merged, flag_layer)
        origins[path] = flag
    return validate_config(merged, origins)


def validate_config(data: Mapping[str, Any], origins: Mapping[tuple[str, ...], str] | None = None) -> Config:
    """`Config.model_validate` with errors turned into one readable line per problem."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, origins or {})) from None


def format_validation_error(exc: ValidationError, origins: Mapping[tuple[str, ...], str]) -> str:
    """One line per error: field, bad value, what is allowed, and where the value came from."""
    lines = []
    for error in exc.errors():
        path = tuple(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if not path:
            lines.append(f"invalid config: {message}")
            continue
        field = ".".join(path)
        if error["type"] == "extra_forbidden":
            lines.append(f"invalid config: unknown setting '{field}'{_origin(path, origins)}")
            continue
        value = error.get("input")
        shown = "***" if "password" in field else redact_url(repr(value))
        lines.append(f"invalid config: {field} = {shown}{_origin(path, origins)}: {message}")
    return "\n".join(lines)


def _origin(path: tuple[str, ...], origins: Mapping[tuple[str, ...], str]) -> str:
    source = origins.get(path)
    return f" (from {source})" if source else ""


# --------------------------------------------------------------------------- reference


def reference_rows(
    flags: Mapping[tuple[str, ...], str] | None = None,
) -> list[tuple[str, str, str, str, str]]:
    """(TOML key, environment variable, flag, default, description) for every setting."""
    flags = flags or {}
    env_by_path = {path: name for name, path in ENV_FIELDS.items()}
    rows = []
    for path, env_name in sorted(env_by_path.items(), key=lambda item: (len(item[0]), item[0])):
        model: type[BaseModel] = Config
        for part in path[:-1]:
            annotation = model.model_fields[part].annotation
            assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
            model = annotation
        info = model.model_fields[path[-1]]
        if info.default_factory is not None:
            default = "(host name)" if path == ("node_id",) else "(see below)"
            if path == ("data_dir",):
                default = "~/.local/state/deskpulse-edge"
        elif info.default is None:
            default = ""
        else:
            default = str(info.default).lower() if isinstance(info.default, bool) else str(info.default)
        rows.append((".".join(path), env_name, flags.get(path, ""), default, info.description or ""))
    return rows


def reference_markdown(flags: Mapping[tuple[str, ...], str] | None = None) -> str:
    """The README's configuration table."""
    lines = [
        "| key (TOML `[section]` key) | environment | flag | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for key, env_name, flag, default, description in reference_rows(flags):
        flag_cell = f"`{flag}`" if flag else ""
        default_cell = f"`{default}`" if default else ""
        cells = [f"`{key}`", f"`{env_name}`", flag_cell, default_cell, description]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)
