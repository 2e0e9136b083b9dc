"""Runs inside the Home Assistant venv (not the project's): set-up steps that need HA's own code.

Subcommands:
  requirements            print the pip requirements of the integrations the test instance loads
  preseed CONFIG_DIR      mark every onboarding step but "user" done (skips core_config, whose
                          demo integrations reach the internet)
  run -c CONFIG_DIR ...   run `hass` with aiohttp's plain DNS resolver (HA's default one starts
                          zeroconf, which binds UDP 5353 on every interface)
  setup --url ...         owner user, long-lived token, MQTT config entry, all through HA's APIs
  ws --url ... TYPE       send one WebSocket command and print its result as JSON
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# Integrations HA loads here (bootstrap's defaults come from HA itself) and every entity platform
# MQTT discovery can set up; their requirements are installed with HA so it never pip-installs.
EXTRA_DOMAINS = (
    *("api", "auth", "config", "frontend", "http", "isal", "logger", "mqtt", "network", "onboarding"),
    *("system_log", "websocket_api", "alarm_control_panel", "binary_sensor", "button", "camera"),
    *("climate", "cover", "device_automation", "device_tracker", "event", "fan", "humidifier", "image"),
    *("lawn_mower", "light", "lock", "notify", "number", "scene", "select", "sensor", "siren", "switch"),
    *("tag", "text", "update", "vacuum", "valve", "water_heater"),
)
SKIP_DOMAINS = frozenset({"hassio"})  # Supervisor only
CLIENT_NAME = "deskpulse-tests"


def requirements() -> list[str]:
    """The requirements of the loaded integrations, following (after_)dependencies."""
    from homeassistant import bootstrap, components

    root = Path(components.__file__).parent
    todo = set(getattr(bootstrap, "CORE_INTEGRATIONS", ())) | set(
        getattr(bootstrap, "DEFAULT_INTEGRATIONS", ())
    )
    todo |= set(EXTRA_DOMAINS)
    seen: set[str] = set()
    found: set[str] = set()
    while todo:
        domain = todo.pop()
        if domain in seen or domain in SKIP_DOMAINS:
            continue
        seen.add(domain)
        manifest_path = root / domain / "manifest.json"
        if not manifest_path.is_file():
            continue
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        found.update(manifest.get("requirements", []))
        todo |= set(manifest.get("dependencies", [])) | set(manifest.get("after_dependencies", []))
    return sorted(found)


def preseed(config_dir: Path) -> None:
    """Write HA's onboarding store with every step but creating the owner user done."""
    from homeassistant.components import onboarding
    from homeassistant.components.onboarding import const

    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    document = {
        "version": onboarding.STORAGE_VERSION,
        "minor_version": 1,
        "key": onboarding.STORAGE_KEY,
        "data": {"done": [step for step in const.STEPS if step != const.STEP_USER]},
    }
    (storage / onboarding.STORAGE_KEY).write_text(json.dumps(document), encoding="utf-8")


def run_hass(argv: list[str]) -> int:
    """`hass` with the plain resolver, so HA opens no mDNS socket."""
    from homeassistant.helpers import aiohttp_client

    if hasattr(aiohttp_client, "_async_make_resolver"):
        from aiohttp.resolver import ThreadedResolver

        aiohttp_client._async_make_resolver = lambda hass: ThreadedResolver()
    from homeassistant.__main__ import main

    sys.argv = ["hass", *argv]
    return int(main())


class Api:
    """HA's HTTP and WebSocket APIs over one aiohttp session."""

    def __init__(self, session: Any, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.token = ""

    async def request(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        async with self.session.request(method, self.url + path, json=body, headers=headers) as response:
            text = await response.text()
            if response.status != 200:
                raise SystemExit(f"{method} {path}: HTTP {response.status} {text[:300]}")
            return json.loads(text) if text else None

    async def wait_up(self, timeout: float) -> None:
        import aiohttp

        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                async with self.session.get(self.url + "/api/onboarding") as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except aiohttp.ClientError as exc:
                last = repr(exc)
            await asyncio.sleep(0.3)
        raise SystemExit(f"Home Assistant did not answer within {timeout} s ({last})")

    async def create_owner(self, username: str, password: str) -> str:
        """Onboarding's user step, then the auth code exchanged for an access token."""
        client_id = self.url + "/"
        answer = await self.request(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": client_id,
                "name": "DeskPulse Tests",
                "username": username,
                "password": password,
                "language": "en",
            },
            auth=False,
        )
        form = {"grant_type": "authorization_code", "code": answer["auth_code"], "client_id": client_id}
        async with self.session.post(self.url + "/auth/token", data=form) as response:
            tokens = await response.json()
            if response.status != 200:
                raise SystemExit(f"/auth/token: HTTP {response.status} {tokens}")
        return str(tokens["access_token"])

    async def ws(self, command: dict[str, Any], token: str | None = None) -> Any:
        """One WebSocket command; its result."""
        async with self.session.ws_connect(self.url.replace("http", "ws", 1) + "/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": token or self.token})
            reply = await ws.receive_json()
            if reply.get("type") != "auth_ok":
                raise SystemExit(f"websocket auth failed: {reply}")
            await ws.send_json({"id": 1, **command})
            while True:
                reply = await ws.receive_json()
                if reply.get("id") == 1 and reply.get("type") == "result":
                    break
            if not reply.get("success"):
                raise SystemExit(f"websocket {command['type']} failed: {reply.get('error')}")
            return reply.get("result")

    async def flow(self, start: str, body: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
        """Walk a config/options flow, answering the fields each form asks for."""
        result: dict[str, Any] = await self.request("POST", start, body)
        for _ in range(8):
            kind = result.get("type")
            if kind in ("create_entry", "abort"):
                return result
            if kind == "menu":
                options = result.get("menu_options", [])
                reply: dict[str, Any] = {"next_step_id": "broker" if "broker" in options else options[0]}
            elif kind == "form":
                if result.get("errors"):
                    raise SystemExit(f"flow step {result.get('step_id')}: {result['errors']}")
                wanted = {field["name"] for field in result.get("data_schema", [])}
                reply = {key: value for key, value in answers.items() if key in wanted}
            else:
                raise SystemExit(f"unexpected flow result {result}")
            result = await self.request("POST", f"{start}/{result['flow_id']}", reply)
        raise SystemExit(f"flow did not finish: {result}")

    async def mqtt_entry(self) -> dict[str, Any] | None:
        entries = await self.request("GET", "/api/config/config_entries/entry")
        return next((entry for entry in entries if entry.get("domain") == "mqtt"), None)


async def setup(args: argparse.Namespace) -> None:
    """Owner user → long-lived token → MQTT entry (config flow + options flow) → loaded."""
    import aiohttp

    async with aiohttp.ClientSession() as session:
        api = Api(session, args.url)
        await api.wait_up(args.timeout)
        access = await api.create_owner(args.username, args.password)
        api.token = await api.ws(
            {"type": "auth/long_lived_access_token", "client_name": CLIENT_NAME, "lifespan": 3650}, access
        )
        fd = os.open(args.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(api.token)
        answers = {
            "broker": "127.0.0.1",
            "port": args.mqtt_port,
            "discovery": True,
            "discovery_prefix": args.prefix,
        }
        created = await api.flow(
            "/api/config/config_entries/flow", {"handler": "mqtt", "show_advanced_options": True}, answers
        )
        if created.get("type") != "create_entry":
            raise SystemExit(f"the MQTT config flow made no entry: {created}")
        entry = await api.mqtt_entry()
        assert entry is not None
        await api.flow(
            "/api/config/config_entries/options/flow",
            {"handler": entry["entry_id"], "show_advanced_options": True},
            {"discovery": True, "discovery_prefix": args.prefix},
        )
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            entry = await api.mqtt_entry()
            if entry is not None and entry.get("state") == "loaded":
                return
            await asyncio.sleep(0.3)
        raise SystemExit(f"the MQTT entry is not loaded: {entry}")


async def websocket_command(args: argparse.Namespace) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        api = Api(session, args.url)
        api.token = Path(args.token_file).read_text(encoding="utf-8").strip()
        body = json.loads(args.body) if args.body else {}
        print(json.dumps(await api.ws({"type": args.type, **body})))


def main(argv: list[str]) -> int:
    if argv[:1] == ["run"]:
        return run_hass(argv[1:])
    parser = argparse.ArgumentParser(prog="ha_helper")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("requirements")
    pre = sub.add_parser("preseed")
    pre.add_argument("config_dir", type=Path)
    set_up = sub.add_parser("setup")
    set_up.add_argument("--url", required=True)
    set_up.add_argument("--token-file", required=True)
    set_up.add_argument("--mqtt-port", type=int, required=True)
    set_up.add_argument("--prefix", default="homeassistant")
    set_up.add_argument("--username", required=True)
    set_up.add_argument("--password", required=True)
    set_up.add_argument("--timeout", type=float, default=120.0)
    ws = sub.add_parser("ws")
    ws.add_argument("--url", required=True)
    ws.add_argument("--token-file", required=True)
    ws.add_argument("type")
    ws.add_argument("body", nargs="?")
    args = parser.parse_args(argv)
    if args.command == "requirements":
        print("\n".join(requirements()))
    elif args.command == "preseed":
        preseed(args.config_dir)
    elif args.command == "setup":
        asyncio.run(setup(args))
    else:
        asyncio.run(websocket_command(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
