"""A throwaway certificate authority for tests, made with the `openssl` command line tool.

The certificates live in the test's temporary folder for two days at most; nothing here is ever trusted
outside a test (a browser trusts the CA only through a throwaway NSS database, see tests/browser/).
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest


def need_openssl() -> None:
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is missing (apt-get install openssl)")


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA: (certificate, key)."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN=DeskPulse test {name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip
    return folder / f"{name}.crt", folder / f"{name}.key"


def _san(names: Iterable[str]) -> str:
    entries = []
    for name in names:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            entries.append(f"DNS:{name}")
        else:
            entries.append(f"IP:{name}")
    return ",".join(entries)


def issue(
    folder: Path,
    ca: tuple[Path, Path],
    name: str,
    *,
    server: bool,
    names: Iterable[str] = ("localhost", "127.0.0.1"),
) -> tuple[Path, Path]:
    """A certificate signed by `ca`: a server's for `names` (host names and IP addresses), or a client's."""
    extensions = folder / f"{name}.ext"
    if server:
        extensions.write_text(f"subjectAltName={_san(names)}\nextendedKeyUsage=serverAuth\n")
    else:
        extensions.write_text("extendedKeyUsage=clientAuth\n")
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=folder,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial",
        "-out", f"{name}.crt", "-days", "2", "-extfile", str(extensions), cwd=folder,
    )  # fmt: skip
    return folder / f"{name}.crt", folder / f"{name}.key"
