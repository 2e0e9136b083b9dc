"""A real Home Assistant for tests, on loopback, with the MQTT integration on a test mosquitto.

Home Assistant needs Python >= 3.12 (the project runs on 3.10-3.12), so it gets its own venv, built
on first use in a cache folder outside the repository and reused afterwards:
`$HA_TEST_CACHE`, else `<system temp dir>/deskpulse-ha-cache`. Python 3.13 runs HA 2025.4.4,
Python 3.12 runs HA 2025.1.4 (the newest for each); both speak device-based discovery.
`HA_TEST_PYTHON` (a name on PATH or a path) picks the interpreter.
Set-up steps that need HA's own code run in that venv through `ha_helper.py`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import free_port, wait_until

HELPER = Path(__file__).with_name("ha_helper.py")
HA_FOR_PYTHON = {(3, 13): "2025.4.4", (3, 12): "2025.1.4"}
PYTHON_NAMES = ("python3.13", "python3.12")
OWNER_USERNAME = "deskpulse"
OWNER_PASSWORD = "deskpulse-test-owner"  # a throwaway owner of a loopback-only test instance
INSTALL_TIMEOUT_S = 900.0
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0

CONFIGURATION_YAML = """\
# Written by the DeskPulse tests. No `default_config:`: it would load zeroconf, ssdp, dhcp and
# bluetooth, which open sockets on every interface.
homeassistant:
  name: DeskPulse Tests
  latitude: 52.37
  longitude: 4.89
  elevation: 0
  unit_system: metric
  time_zone: UTC
  currency: EUR
  country: NL
  language: en

http:
  server_host: 127.0.0.1
  server_port: {port}

logger:
  default: warning
  logs:
    homeassistant.components.mqtt: info
"""


@dataclass(frozen=True)
class Interpreter:
    """A Python that can run Home Assistant, and the environment that selects it."""

    executable: str
    version: tuple[int, int]

    @property
    def ha_version(self) -> str:
        return HA_FOR_PYTHON[self.version]


def _probe(command: str, env: dict[str, str]) -> Interpreter | None:
    try:
        out = subprocess.run(
            [command, "-c", "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    major, minor = (int(part) for part in out[1].split("."))
    if (major, minor) not in HA_FOR_PYTHON:
        return None
    return Interpreter(out[0], (major, minor))


def python_names() -> tuple[str, ...]:
    """$HA_TEST_PYTHON, else python3.13 then python3.12."""
    return (os.environ["HA_TEST_PYTHON"],) if os.environ.get("HA_TEST_PYTHON") else PYTHON_NAMES


def find_interpreter() -> Interpreter | None:
    """The first of `python_names()` that runs and is 3.12 or 3.13 (inactive pyenv shims included)."""
    for name in python_names():
        command = shutil.which(name)
        if command is None:
            continue
        found = _probe(command, dict(os.environ))
        if found is not None:
            return found
        # An inactive pyenv shim: ask pyenv which installed versions provide the command.
        pyenv = shutil.which("pyenv")
        if pyenv is None:
            continue
        whence = subprocess.run([pyenv, "whence", name], capture_output=True, text=True, check=False)
        for version in whence.stdout.split():
            found = _probe(command, {**os.environ, "PYENV_VERSION": version})
            if found is not None:
                return found
    return None


def cache_root() -> Path:
    return Path(os.environ.get("HA_TEST_CACHE") or Path(tempfile.gettempdir()) / "deskpulse-ha-cache")


@dataclass(frozen=True)
class Install:
    """A venv with Home Assistant and the requirements of the integrations it will load."""

    venv: Path
    ha_version: str

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def helper(self, *args: str, timeout: float = 120.0) -> str:
        """Run ha_helper.py in this venv; its stdout."""
        result = subprocess.run(
            [str(self.python), str(HELPER), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"ha_helper {args[0]} failed: {result.stderr.strip()[-2000:]}")
        return result.stdout


def _pip(python: Path, *args: str, log: Path) -> None:
    with log.open("ab") as out:
        result = subprocess.run(
            # --no-compile: byte-compiling all of HA takes longer than compiling what it imports.
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-compile", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"pip install {' '.join(args)} failed:\n{tail}")


def ensure_installed(interpreter: Interpreter, report: Callable[[str], None] = print) -> Install:
    """The cached venv for this interpreter's HA version; built once (about 100 s), under a lock."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    name = f"ha-{interpreter.ha_version}-py{interpreter.version[0]}.{interpreter.version[1]}"
    venv = root / name
    marker = venv / ".deskpulse-installed"
    install = Install(venv, interpreter.ha_version)
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second test session waits for the first install
        if marker.is_file():
            return install
        started = time.monotonic()
        building = root / f"{name}.partial"
        shutil.rmtree(building, ignore_errors=True)
        log = root / f"{name}.install.log"
        log.write_text("")
        report(f"installing Home Assistant {interpreter.ha_version} into {venv} (first use, ~2 min)")
        subprocess.run([interpreter.executable, "-m", "venv", str(building)], check=True, timeout=300)
        partial = Install(building, interpreter.ha_version)
        _pip(partial.python, "--quiet", f"homeassistant=={interpreter.ha_version}", log=log)
        requirements = building / "ha-requirements.txt"
        requirements.write_text(partial.helper("requirements"))
        constraints = subprocess.run(
            [
                str(partial.python),
                "-c",
                "import homeassistant, os; "
                "print(os.path.join(os.path.dirname(homeassistant.__file__), 'package_constraints.txt'))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        _pip(partial.python, "--quiet", "-r", str(requirements), "-c", constraints, log=log)
        shutil.rmtree(venv, ignore_errors=True)
        # venv scripts name their interpreter by absolute path: build in place under the final name.
        building.rename(venv)
        subprocess.run(
            [interpreter.executable, "-m", "venv", "--upgrade", str(venv)], check=True, timeout=300
        )
        marker.write_text(f"homeassistant=={interpreter.ha_version}\n")
        report(f"installed Home Assistant {interpreter.ha_version} in {time.monotonic() - started:.0f} s")
        return install


@dataclass
class HomeAssistant:
    """One Home Assistant process: config dir, owner user, long-lived token, MQTT entry."""

    install: Install
    workdir: Path
    mqtt_port: int
    port: int = field(default_factory=free_port)
    automations: str | None = None  # automations.yaml for the config dir
    process: subprocess.Popen[bytes] | None = None
    token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_dir(self) -> Path:
        return self.workdir / "config"

    @property
    def log_path(self) -> Path:
        return self.workdir / "home-assistant.log"

    @property
    def token_file(self) -> Path:
        return self.workdir / "token"

    def start(self) -> HomeAssistant:
        """Start; on the first start also onboard (owner user, token) and add the MQTT entry."""
        first = not self.config_dir.exists()
        if first:
            self.config_dir.mkdir(parents=True)
            configuration = CONFIGURATION_YAML.format(port=self.port)
            if self.automations is not None:
                (self.config_dir / "automations.yaml").write_text(self.automations)
                configuration += "\nautomation: !include automations.yaml\n"
            (self.config_dir / "configuration.yaml").write_text(configuration)
            self.install.helper("preseed", str(self.config_dir))
        out = (self.workdir / "hass.out").open("ab")
        self.process = subprocess.Popen(
            [
                str(self.install.python),
                str(HELPER),
                "run",
                "-c",
                str(self.config_dir),
                "--log-file",
                str(self.log_path),
                "--log-no-color",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        if first:
            self.install.helper(
                "setup",
                "--url",
                self.url,
                "--token-file",
                str(self.token_file),
                "--mqtt-port",
                str(self.mqtt_port),
                "--username",
                OWNER_USERNAME,
                "--password",
                OWNER_PASSWORD,
                "--timeout",
                str(READY_TIMEOUT_S),
                timeout=READY_TIMEOUT_S + 30,
            )
        self.token = self.token_file.read_text().strip()
        wait_until(self._mqtt_loaded, READY_TIMEOUT_S, interval=0.3, what="HA's MQTT entry to load")
        return self

    def _mqtt_loaded(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"Home Assistant exited ({self.process.returncode}); see {self.log_path}")
        try:
            entries = self.get("/api/config/config_entries/entry")
        except (OSError, urllib.error.URLError):
            return False
        return any(e.get("domain") == "mqtt" and e.get("state") == "loaded" for e in entries)

    def stop(self) -> None:
        """SIGTERM (HA saves its registries), SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    # ------------------------------------------------------------------ REST

    def _request(self, path: str, body: Any = None) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def get(self, path: str) -> Any:
        status, body = self._request(path)
        if status != 200:
            raise AssertionError(f"GET {path}: HTTP {status} {body[:300]!r}")
        return json.loads(body)

    def states(self) -> dict[str, dict[str, Any]]:
        return {state["entity_id"]: state for state in self.get("/api/states")}

    def state(self, entity_id: str) -> str | None:
        status, body = self._request(f"/api/states/{entity_id}")
        return str(json.loads(body)["state"]) if status == 200 else None

    def call(self, domain: str, service: str, **data: Any) -> None:
        status, body = self._request(f"/api/services/{domain}/{service}", data)
        if status != 200:
            raise AssertionError(f"{domain}.{service}: HTTP {status} {body[:300]!r}")

    def template(self, template: str) -> Any:
        status, body = self._request("/api/template", {"template": template})
        if status != 200:
            raise AssertionError(f"template: HTTP {status} {body[:300]!r}")
        return json.loads(body)

    def camera_image(self, entity_id: str) -> tuple[int, bytes]:
        return self._request(f"/api/camera_proxy/{entity_id}")

    def ws(self, command_type: str, **body: Any) -> Any:
        """One WebSocket command (the registries are not on the REST API)."""
        out = self.install.helper(
            "ws", "--url", self.url, "--token-file", str(self.token_file), command_type, json.dumps(body)
        )
        return json.loads(out)

    def device_entities(self, device_name: str) -> dict[str, dict[str, Any]]:
        """Entity registry entries of the device named `device_name`, by entity id."""
        devices = [d for d in self.ws("config/device_registry/list") if d["name"] == device_name]
        if not devices:
            return {}
        device_id = devices[0]["id"]
        return {
            e["entity_id"]: e for e in self.ws("config/entity_registry/list") if e["device_id"] == device_id
        }

    def device(self, device_name: str) -> dict[str, Any] | None:
        return next((d for d in self.ws("config/device_registry/list") if d["name"] == device_name), None)

    def listening_addresses(self) -> list[str]:
        """Every TCP/UDP address the HA process listens on or is bound to for receiving."""
        import psutil

        assert self.process is not None
        addresses = []
        for conn in psutil.Process(self.process.pid).net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN or (conn.type == 2 and not conn.raddr):
                addresses.append(f"{conn.laddr.ip}:{conn.laddr.port}")
        return addresses

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def main() -> int:
    """`python -m tests.ha.harness`: install HA into the cache (e.g. to warm a CI cache)."""
    interpreter = find_interpreter()
    if interpreter is None:
        print("no python3.13 or python3.12 on PATH: Home Assistant tests will skip", file=sys.stderr)
        return 1
    with contextlib.suppress(KeyboardInterrupt):
        install = ensure_installed(interpreter)
        print(f"Home Assistant {install.ha_version}: {install.venv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
