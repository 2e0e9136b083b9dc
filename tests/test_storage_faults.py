"""Power cuts and bad storage: kill -9 mid-run, a data dir that fills up or turns read-only, corrupt JSON.

Real file systems, mounted here as root: a tiny tmpfs that is filled to the last byte, and an ext4 on a
loop device that is made to fail the way an SD card does (`mount -o remount,abort` with
errors=remount-ro: the kernel turns it read-only under the open files). The node is the real daemon,
or its real parts in-process on scripted clocks where the test counts log lines per minute.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from edge_node.config import Config
from edge_node.stats.journal import JOURNAL_FILE, MinuteJournal, read_journal, with_journal
from edge_node.stats.store import FILE_NAME, StatsStore, read_snapshot
from edge_node.stats.tracker import Tracker
from edge_node.stats.writer import StatsWriter
from edge_node.vision.frames import Frame
from tests.support import Daemon, Mosquitto, Watcher, wait_until
from tests.test_node_loop import (
    BLANK,
    GOOD,
    START,
    FakeCamera,
    MemoryLink,
    ScriptedPoses,
    config_for,
    node_for,
)

MOUNTING = os.geteuid() == 0 and shutil.which("mount") is not None and shutil.which("losetup") is not None
needs_mounting = pytest.mark.skipif(not MOUNTING, reason="mounting a tmpfs or a loop ext4 needs root")
FLUSH_S = 5.0  # the shortest flush interval the config allows: many writes in a short test
NODE_ENV = {
    "DESKPULSE_ALERTS__TIMEZONE": "UTC",
    "DESKPULSE_STATS__FLUSH_INTERVAL_S": str(FLUSH_S),
    "DESKPULSE_STATS__PUBLISH_INTERVAL_S": "1",
    "DESKPULSE_POSTURE__GOOD_AFTER_S": "0.5",
}


# --------------------------------------------------------------------------- file systems


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `folder` (unmounted afterwards, whatever happens)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@contextmanager
def failing_ext4(folder: Path) -> Iterator[Callable[[], None]]:
    """An ext4 on a loop device at `folder`; yields a function that fails it read-only, as a card does."""
    image = folder.with_name(folder.name + ".img")
    subprocess.run(["truncate", "-s", "32M", str(image)], check=True)
    device = subprocess.run(
        ["losetup", "-f", "--show", str(image)], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        subprocess.run(["mkfs.ext4", "-q", "-F", device], check=True)
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-o", "errors=remount-ro", device, str(folder)], check=True)

        def fail() -> None:
            subprocess.run(["mount", "-o", "remount,abort", str(folder)], check=True)
            with pytest.raises(OSError, match="Read-only file system"):
                (folder / "probe").write_bytes(b"x")

        try:
            yield fail
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=False)
    finally:
        subprocess.run(["losetup", "-d", device], check=False)
        image.unlink(missing_ok=True)


def fill(folder: Path) -> Path:
    """Fill the file system of `folder` to the last byte; return the filler to delete later."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (1 << 20, 65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                continue
    finally:
        os.close(fd)
    assert shutil.disk_usage(folder).free < 4096
    return filler


def stored_total(data_dir: Path, day: str) -> float:
    """Seconds of `day` as a reader after the node sees them: the database and the minute journal."""
    snapshot = with_journal(read_snapshot(data_dir / FILE_NAME), data_dir / JOURNAL_FILE)
    record = snapshot.days.get(day)
    return 0.0 if record is None else record.good_s + record.bad_s + record.away_s + record.unknown_s


def published_total(message: Any) -> float:
    today = message.json()["today"]
    return float(today["good_s"] + today["bad_s"] + today["away_s"] + today["unknown_s"])


# --------------------------------------------------------------------------- kill -9


@pytest.mark.slow
def test_kill_9_leaves_a_database_with_the_published_totals_within_the_flush_interval(
    tmp_path: Path, photos: dict[str, Path], daemon_factory: Callable[..., Daemon], mosquitto: Mosquitto
) -> None:
    """Three runs, each killed at a random moment of its write cycle; nothing is ever closed cleanly."""
    data_dir = tmp_path / "data"
    rng = random.Random(16)
    carried = 0.0
    for run in range(3):
        watcher = Watcher(mosquitto.port, ("deskpulse/killme/stats",)).wait_connected()
        try:
            daemon = daemon_factory(
                "--source", str(photos["astronaut"]), "--loop", "--node-id", "killme", "--broker",
                mosquitto.url, "--data-dir", str(data_dir), env=NODE_ENV, name=f"run{run}",
            )  # fmt: skip
            first = watcher.wait_for("deskpulse/killme/stats", timeout=90)
            assert published_total(first) >= carried - 0.1  # the new run went on from what was kept
            time.sleep(FLUSH_S * 2 + rng.uniform(0, FLUSH_S))  # somewhere in a write cycle
            last = watcher.on("deskpulse/killme/stats")[-1]
            daemon.kill()
            killed_at = time.time()
        finally:
            watcher.close()
        day = last.json()["today"]["date"]
        published = published_total(last)
        kept = stored_total(data_dir, day)
        # At most one flush interval lost, plus what went by between that message and the kill.
        assert (
            published - FLUSH_S - (killed_at - last.at) - 0.5
            <= kept
            <= published + (killed_at - last.at) + 0.5
        )
        with sqlite3.connect(data_dir / FILE_NAME) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        carried = kept
    assert carried >= FLUSH_S  # something was kept at all (each run went on from the last: above)


# --------------------------------------------------------------------------- the node in-process


class StorageDesk:
    """The node's real parts on a scripted clock (wall and monotonic the same), its writer included."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.now = [START]
        self.link = MemoryLink(config.node_id)
        self.camera = FakeCamera(self.now)
        data_dir = config.data_dir
        self.store = StatsStore(data_dir / FILE_NAME, clock=self.clock)
        self.writer = StatsWriter(
            self.store, journal=MinuteJournal(data_dir / JOURNAL_FILE), background=False, mono=self.clock
        )
        self.tracker = Tracker(
            node_id=config.node_id,
            alerts=config.alerts,
            stats=config.stats,
            store=self.store,
            writer=self.writer,
            clock=self.clock,
        )
        self.estimator = ScriptedPoses()
        self.estimator.pose = GOOD
        self.node, _ = node_for(
            config, self.estimator, link=self.link, camera=self.camera, clock=self.clock, tracker=self.tracker
        )
        self.seq = 0
        self.node.publish_startup()
        self.camera.set_state("connected")

    def clock(self) -> float:
        return self.now[0]

    def run(self, seconds: float, step: float = 0.2) -> None:
        """Frames `step` apart (5 fps), each processed and followed by a tick."""
        for _ in range(round(seconds / step)):
            self.now[0] += step
            self.seq += 1
            self.node.process(Frame(image=BLANK, ts=self.now[0], mono=self.now[0], seq=self.seq))
            self.node.tick(self.now[0])

    def today_s(self) -> float:
        day = self.tracker.today(self.clock())
        return day.good_s + day.bad_s + day.away_s + day.unknown_s


def write_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("cannot write the stats")]


@needs_mounting
def test_a_data_dir_that_turns_read_only_keeps_counting_in_memory_with_a_line_a_minute(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    with failing_ext4(data_dir) as fail:
        desk = StorageDesk(config_for(tmp_path, stats={"flush_interval_s": FLUSH_S}))
        desk.run(60)
        fail()  # the card fails: the kernel turns the file system read-only under the open files
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="edge_node"):
            desk.run(600)  # ten minutes: 120 failed journal writes
        lines = write_errors(caplog)
        assert len(lines) == 10, lines  # one a minute, not one per write
        assert "stats journal" in lines[0] and "Read-only file system" in lines[0]
        assert "failing for 540 s" in lines[-1]
        assert desk.today_s() == pytest.approx(660.0, abs=1.0)  # counted on, in memory
        stats = desk.link.json("stats")[-1]["today"]
        assert stats["good_s"] + stats["unknown_s"] == pytest.approx(660.0, abs=31.0)  # and published
        desk.node.inbox.on_message("deskpulse/desk/sensitivity/set", b"high", False)
        desk.run(1)
        assert desk.link.text("sensitivity/state") == "high"  # a setting holds, unsaved
        assert any("cannot save the settings" in r.getMessage() for r in caplog.records)
        desk.tracker.close(desk.clock())  # SIGTERM now: the writes fail once more, the node still stops


@needs_mounting
def test_a_full_data_dir_keeps_the_minute_journal_and_the_database_catches_up_when_space_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    with tmpfs(data_dir, "1m"):
        desk = StorageDesk(config_for(tmp_path, stats={"flush_interval_s": FLUSH_S}))
        desk.run(55 * 60, step=1.0)
        filler = fill(data_dir)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="edge_node"):
            desk.run(20 * 60, step=1.0)  # the hourly database batch fails at 60 min, then every retry
            lines = write_errors(caplog)
            assert len(lines) == 15, lines  # one a minute from the first failure, not one per 5 s retry
            assert "database or disk is full" in lines[0] and "stats database" in lines[0]
            # The journal's blocks were allocated when it was made: it still takes every interval.
            _, journaled = read_journal(data_dir / JOURNAL_FILE)
            day = next(iter(journaled))
            seen = with_journal(read_snapshot(data_dir / FILE_NAME), data_dir / JOURNAL_FILE).days[day]
            held = desk.tracker.today(desk.clock())
            assert held.good_s - FLUSH_S - 1 <= seen.good_s <= held.good_s  # a power cut now loses 5 s
            filler.unlink()
            desk.run(FLUSH_S, step=1.0)  # the next retry goes through
            assert any("writable again" in r.getMessage() for r in caplog.records)
        assert read_snapshot(data_dir / FILE_NAME).days[day].good_s >= 3600  # the batch that failed
        desk.tracker.close(desk.clock())
        assert read_snapshot(data_dir / FILE_NAME).days[day].good_s == desk.tracker.today(desk.clock()).good_s
        assert read_journal(data_dir / JOURNAL_FILE)[1] == {}  # all in the database: the journal is empty


def test_corrupt_settings_and_calibration_are_moved_aside_and_the_defaults_apply(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_for(tmp_path)
    data_dir = config.data_dir
    data_dir.mkdir(parents=True)
    (data_dir / "settings.json").write_text(
        '{"sensitivity": "high", "alert_minutes": '
    )  # cut by a power loss
    (data_dir / "calibration.json").write_bytes(b"\x00" * 512)  # a block that never got written
    with caplog.at_level(logging.WARNING, logger="edge_node.datadir"):
        desk = StorageDesk(config)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    for name in ("settings.json", "calibration.json"):
        line = next(line for line in lines if f"{name} is not valid" in line)
        aside = list(data_dir.glob(f"{name}.corrupt-*"))
        assert len(aside) == 1 and str(aside[0]) in line and "using defaults" in line
        assert not (data_dir / name).exists()
    assert desk.link.text("sensitivity/state") == "medium"
    assert desk.link.text("alert_minutes/state") == "10"
    assert desk.link.text("calibrate/state") == "uncalibrated"
    desk.run(3)
    assert desk.link.json("state")[-1]["posture"] == "good"  # judged with the defaults
    desk.tracker.close(desk.clock())


# --------------------------------------------------------------------------- the daemon on a full disk


@needs_mounting
@pytest.mark.slow
def test_the_daemon_on_a_full_data_dir_runs_on_and_a_kill_loses_at_most_the_flush_interval(
    tmp_path: Path, photos: dict[str, Path], daemon_factory: Callable[..., Daemon], mosquitto: Mosquitto
) -> None:
    data_dir = tmp_path / "data"
    with tmpfs(data_dir, "2m"):
        watcher = Watcher(mosquitto.port, ("deskpulse/full/#",)).wait_connected()
        try:
            args = ["--source", str(photos["astronaut"]), "--loop", "--node-id", "full"]
            args += ["--broker", mosquitto.url, "--data-dir", str(data_dir)]
            daemon = daemon_factory(*args, env=NODE_ENV, name="first")
            watcher.wait_for("deskpulse/full/stats", lambda m: published_total(m) > 0, timeout=90)
            wait_until(lambda: read_journal(data_dir / JOURNAL_FILE)[1], 30, what="the first journal entry")
            filler = fill(data_dir)
            time.sleep(3 * FLUSH_S)
            watcher.publish("deskpulse/full/alert_minutes/set", "15")
            watcher.wait_for("deskpulse/full/alert_minutes/state", lambda m: m.payload == b"15", timeout=10)
            time.sleep(FLUSH_S)
            assert daemon.alive()
            last = watcher.on("deskpulse/full/stats")[-1]
            daemon.kill()
            killed_at = time.time()
            log = daemon.log()
            assert log.count("cannot save the settings") == 1 and "No space left on device" in log
            assert "Traceback" not in log
            day = last.json()["today"]["date"]
            kept = stored_total(data_dir, day)  # the journal took every interval on the full disk
            assert published_total(last) - FLUSH_S - (killed_at - last.at) - 0.5 <= kept

            second = daemon_factory(*args, env=NODE_ENV, name="second")  # still full
            again = watcher.wait_for(
                "deskpulse/full/stats", lambda m: m.at > killed_at and published_total(m) > 0, timeout=90
            )
            assert published_total(again) >= kept - 0.1
            wait_until(lambda: "cannot write the stats database" in second.log(), 30, what="one error line")
            filler.unlink()
            final = watcher.on("deskpulse/full/stats")[-1]
            assert second.terminate() == 0  # on a clean stop, with space again, the database catches up
        finally:
            watcher.close()
        stored = read_snapshot(data_dir / FILE_NAME).days[day]  # the database alone, no journal
        assert stored.good_s + stored.bad_s + stored.away_s + stored.unknown_s >= published_total(final) - 0.5
        assert second.log().count("cannot write the stats database") == 1
        assert "writable again" in second.log()


@needs_mounting
@pytest.mark.slow
def test_the_daemon_on_a_card_gone_read_only_runs_on_with_one_line(
    tmp_path: Path, photos: dict[str, Path], daemon_factory: Callable[..., Daemon], mosquitto: Mosquitto
) -> None:
    data_dir = tmp_path / "data"
    with failing_ext4(data_dir) as fail:
        watcher = Watcher(mosquitto.port, ("deskpulse/readonly/stats",)).wait_connected()
        try:
            daemon = daemon_factory(
                "--source", str(photos["astronaut"]), "--loop", "--node-id", "readonly", "--broker",
                mosquitto.url, "--data-dir", str(data_dir), env=NODE_ENV,
            )  # fmt: skip
            watcher.wait_for("deskpulse/readonly/stats", lambda m: published_total(m) > 0, timeout=90)
            wait_until(lambda: read_journal(data_dir / JOURNAL_FILE)[1], 30, what="the first journal entry")
            fail()
            failed_at = time.time()
            time.sleep(6 * FLUSH_S)  # six failing writes
            before = published_total(watcher.on("deskpulse/readonly/stats")[-1])
            time.sleep(3)
            after = watcher.on("deskpulse/readonly/stats")[-1]
            assert after.at > failed_at + 6 * FLUSH_S and published_total(after) > before  # still counting
            assert daemon.alive()
            assert daemon.terminate() == 0
        finally:
            watcher.close()
    lines = [line for line in daemon.log().splitlines() if "cannot write the stats" in line]
    assert len(lines) == 1, lines  # half a minute of failing writes: one line
    assert "Read-only file system" in lines[0]
    assert "Traceback" not in daemon.log()
