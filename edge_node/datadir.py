"""Small JSON documents in the data dir (runtime settings, calibration baseline), written atomically.

A file that cannot be read or parsed is moved aside with a warning and the defaults are used: the
node keeps running.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from edge_node.errors import EdgeNodeError

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)


class JsonStore:
    """Load and save pydantic models as `<data_dir>/<name>.json`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def path(self, name: str) -> Path:
        """The file a document is kept in."""
        return self.data_dir / f"{name}.json"

    def load(self, name: str, model: type[ModelT]) -> ModelT | None:
        """The stored model, or None if absent or unusable (then it is moved aside)."""
        path = self.path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read %s (%s); using defaults", path, exc.strerror)
            return None
        try:
            return model.model_validate(json.loads(text))
        except (ValueError, ValidationError) as exc:
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            try:
                path.replace(aside)
            except OSError as moving:
                log.warning(
                    "%s is not valid (%s); using defaults (cannot move it aside: %s)",
                    path,
                    _first_line(exc),
                    moving.strerror or moving,
                )
            else:
                log.warning(
                    "%s is not valid (%s); moved it to %s and using defaults", path, _first_line(exc), aside
                )
            return None

    def save(self, name: str, value: BaseModel) -> None:
        """Write atomically (temp file + rename), so power loss leaves the old or the new file."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.path(name)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=self.data_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(value.model_dump_json(indent=2))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, name: str) -> None:
        """Remove a document (no error if it is absent)."""
        self.path(name).unlink(missing_ok=True)


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class DataDirBusy(EdgeNodeError):
    """Another running node holds the data dir."""


def lock_data_dir(data_dir: Path) -> int:
    """Hold `<data_dir>/node.lock` for the life of the process; raise DataDirBusy if a node has it.

    Two nodes on one data dir would count the same seconds twice into one statistics store and
    overwrite each other's settings and calibration. The lock is an flock, so the kernel releases
    it when the process ends in any way (including SIGKILL and power loss): no stale lock files.
    """
    import fcntl

    path = data_dir / "node.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno != errno.EROFS or not path.exists():
            raise
        fd = os.open(path, os.O_RDONLY)  # a card gone read-only: still one node, statistics in memory
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise DataDirBusy(f"another deskpulse-edge (pid {holder}) is using it") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass  # a full or read-only disk: the lock holds without the pid written in it
    return fd
