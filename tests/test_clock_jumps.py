"""A Raspberry Pi's boot clock: no real-time clock, so the wall clock starts wrong and jumps.

At boot the clock reads 1970, or the time fake-hwclock saved at the last shutdown (hours or days
behind); NTP then steps it forward, and can step it back. None of that may credit hours of posture to
a day, fire a stale alert, keep yesterday's date, stall the heartbeat or burst the periodic messages.
The tracker is driven alone on a scripted clock, then the node's real parts in-process with two
scripted clocks, wall and monotonic, of which only the wall clock jumps.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from edge_node.stats.store import FILE_NAME
from edge_node.stats.tracker import MAX_GAP_S
from edge_node.vision.frames import Frame
from tests.test_node_loop import (
    BLANK,
    GOOD,
    SLOUCH,
    FakeCamera,
    MemoryLink,
    ScriptedPoses,
    config_for,
    node_for,
)
from tests.test_tracker import MONDAY, Desk, local, stored_days

HOUR = 3600.0
FRAME_S = 0.1


def utc(day: date, hour: int = 0, minute: int = 0) -> float:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.utc).timestamp()


# --------------------------------------------------------------------------- the tracker alone


def test_fake_hwclock_then_ntp_forward_by_hours_credits_nothing_and_fires_no_stale_alert(
    tmp_path: Path,
) -> None:
    sunday = MONDAY - timedelta(days=1)
    desk = Desk(tmp_path, local(sunday, 23, 50))  # the time fake-hwclock saved at the last shutdown
    desk.spend("bad", 590)  # 9 min 50 s: ten seconds short of the alert
    desk.jump(9 * HOUR)  # NTP: it is really Monday morning
    events = desk.spend("bad", 60)
    assert [e.event_type for e in events if e.event_type == "posture_alert"] == []
    assert desk.tracker.bad_for_s(desk.now) == 60.0  # the timer started again after the jump
    monday = desk.tracker.today(desk.now)
    assert (monday.date, monday.bad_s) == (MONDAY.isoformat(), 60.0)
    desk.close()
    stored = stored_days(tmp_path)
    assert stored[sunday.isoformat()].bad_s == 590.0  # nothing of the 9 hours went to Sunday
    assert sum(d.good_s + d.bad_s + d.away_s + d.unknown_s for d in stored.values()) == 650.0


def test_a_clock_stepped_back_across_midnight_counts_nothing_and_the_date_follows_it(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 0, 30))
    desk.spend("bad", 540)
    desk.jump(-3 * HOUR)  # back to Sunday 21:39
    events = desk.spend("bad", 120)
    assert not [e for e in events if e.event_type == "posture_alert"]  # 9 + 2 min, but not in one stretch
    assert desk.tracker.today(desk.now).date == (MONDAY - timedelta(days=1)).isoformat()
    assert desk.tracker.today(desk.now).bad_s == 120.0
    desk.close()
    stored = stored_days(tmp_path)
    assert stored[MONDAY.isoformat()].bad_s == 540.0


def test_gaps_just_under_and_over_the_limit(tmp_path: Path) -> None:
    desk = Desk(tmp_path, local(MONDAY, 10))
    desk.spend("good", 10)
    desk.jump(MAX_GAP_S - 10)  # a stall a little under the limit: counted, it was real time
    desk.spend("good", 10)
    desk.jump(MAX_GAP_S + 1)  # over it: not counted
    desk.spend("good", 10)
    assert desk.tracker.today(desk.now).good_s == 10 + MAX_GAP_S + 10
    desk.close()


# --------------------------------------------------------------------------- the node, two clocks


class TwoClockDesk:
    """The node's real parts with a wall clock that can jump and a monotonic one that never does."""

    def __init__(self, tmp_path: Path, wall: float, **sections: dict[str, Any]) -> None:
        self.config = config_for(
            tmp_path, alerts={"timezone": "UTC", **sections.pop("alerts", {})}, **sections
        )
        self.wall = [wall]
        self.mono = [1000.0]
        self.link = MemoryLink(self.config.node_id)
        self.camera = FakeCamera(self.wall)
        self.estimator = ScriptedPoses()
        self.node, self.tracker = node_for(
            self.config,
            self.estimator,
            link=self.link,
            camera=self.camera,
            clock=lambda: self.wall[0],
            mono=lambda: self.mono[0],
        )
        self.seq = 0
        self.node.publish_startup()
        self.camera.set_state("connected")
        self.node.tick(self.wall[0])

    def frames(self, seconds: float) -> None:
        """Frames at 10 fps, each processed and followed by a tick, as the loop does."""
        for _ in range(round(seconds / FRAME_S)):
            self.wall[0] += FRAME_S
            self.mono[0] += FRAME_S
            self.seq += 1
            self.camera.ticks += 1
            self.camera.last_frame_mono = self.mono[0]
            self.node.process(Frame(image=BLANK, ts=self.wall[0], mono=self.mono[0], seq=self.seq))
            self.node.tick(self.wall[0])

    def jump(self, seconds: float) -> int:
        """Step the wall clock (NTP); return a mark in the sent messages."""
        self.wall[0] += seconds
        return len(self.link.sent)

    def close(self) -> None:
        self.tracker.close(self.wall[0])


@pytest.fixture
def close_after() -> Any:
    made: list[TwoClockDesk] = []
    yield made
    for desk in made:
        desk.close()


def test_the_node_through_a_boot_clock_from_1970_to_ntp(
    tmp_path: Path, close_after: list[TwoClockDesk]
) -> None:
    desk = TwoClockDesk(tmp_path, 30.0)  # 1970-01-01T00:00:30: no RTC, NTP not there yet
    close_after.append(desk)
    desk.estimator.pose = GOOD
    desk.frames(20)
    assert desk.link.json("stats")[-1]["today"]["date"] == "1970-01-01"
    real = utc(MONDAY, 9)
    mark = desk.jump(real - desk.wall[0])
    desk.frames(30)
    stats = desk.link.json("stats", after=mark)
    assert stats and stats[-1]["today"]["date"] == MONDAY.isoformat()
    assert desk.link.json("history", after=mark)[-1]["days"][-1]["date"] == MONDAY.isoformat()
    assert desk.tracker.today(desk.wall[0]).good_s == pytest.approx(30.0, abs=0.25)  # only since the jump
    assert desk.link.json("state")[-1]["posture"] == "good"
    desk.close()
    assert set(stored_days(desk.config.data_dir)) == {MONDAY.isoformat()}
    assert (desk.config.data_dir / FILE_NAME).is_file()


def test_the_node_through_a_forward_jump_while_slouching(
    tmp_path: Path, close_after: list[TwoClockDesk]
) -> None:
    sunday = MONDAY - timedelta(days=1)
    desk = TwoClockDesk(tmp_path, utc(sunday, 23, 58), alerts={"alert_minutes": 1})
    close_after.append(desk)
    desk.estimator.pose = GOOD
    desk.frames(5)
    desk.estimator.pose = SLOUCH
    desk.frames(50)  # bad published after its 3 s hold: about 47 s of bad, the alert is at 60
    assert desk.link.json("state")[-1]["posture"] == "bad"
    mark = desk.jump(8 * HOUR)  # NTP: Monday 08:00
    desk.frames(30)
    assert desk.link.events("posture_alert") == []
    states = desk.link.json("state", after=mark)
    assert {s["posture"] for s in states} == {"bad"}
    assert states[-1]["bad_for_s"] <= 30.1  # the timer started again, it did not carry 47 s over
    # Paced by the monotonic clock: the jump fires the heartbeat once at most, never on every frame.
    assert len(states) <= 3
    stats = desk.link.json("stats", after=mark)
    assert 1 <= len(stats) <= 3
    today = stats[-1]["today"]
    assert today["date"] == MONDAY.isoformat()
    assert today["bad_s"] <= 30.1 and today["good_s"] == 0.0
    desk.frames(35)
    assert len(desk.link.events("posture_alert")) == 1  # 65 s of bad after the jump: one alert
    desk.close()
    stored = stored_days(desk.config.data_dir)
    assert stored[sunday.isoformat()].bad_s < 50 and stored[sunday.isoformat()].alerts == 0


def test_the_node_through_a_backward_jump_keeps_its_heartbeat_and_its_judgement(
    tmp_path: Path, close_after: list[TwoClockDesk]
) -> None:
    desk = TwoClockDesk(tmp_path, utc(MONDAY, 15), alerts={"alert_minutes": 1})
    close_after.append(desk)
    desk.estimator.pose = SLOUCH
    desk.frames(50)
    assert desk.link.json("state")[-1]["posture"] == "bad"
    mark = desk.jump(-3 * HOUR)  # NTP steps the clock back three hours
    desk.frames(95)
    states = desk.link.json("state", after=mark)
    heartbeat_s = desk.config.posture.heartbeat_s
    assert len(states) >= int(95 // heartbeat_s)  # the heartbeat goes on (not in three hours)
    stats = desk.link.json("stats", after=mark)
    assert len(stats) >= int(95 // desk.config.stats.publish_interval_s)
    assert all(s["ts"] < utc(MONDAY, 13) for s in states)  # stamped with the corrected clock
    alerts = desk.link.events("posture_alert", after=mark)
    assert len(alerts) == 1 and alerts[0]["details"]["bad_s"] == pytest.approx(60.0, abs=0.2)
    desk.estimator.pose = None  # the person leaves: the steadier still judges on the new clock
    desk.frames(12)
    assert desk.link.json("state")[-1]["posture"] == "away"
    today = desk.tracker.today(desk.wall[0])
    # 47 s before the step, 95 s after it, and bad held for away_after_s once nobody was there.
    assert today.bad_s == pytest.approx(47.0 + 95.0 + desk.config.posture.away_after_s, abs=0.5)


def test_calibration_and_the_home_assistant_republish_are_timed_on_the_monotonic_clock(
    tmp_path: Path, close_after: list[TwoClockDesk]
) -> None:
    desk = TwoClockDesk(tmp_path, utc(MONDAY, 15), homeassistant={"enabled": True})
    close_after.append(desk)
    calibrate_s = desk.config.posture.calibrate_s
    desk.estimator.pose = GOOD
    desk.frames(2)
    for step in (-3 * HOUR, 8 * HOUR):  # neither prolongs a calibration by hours nor cuts it short
        desk.node.inbox.on_message("deskpulse/desk/calibrate/set", b"PRESS", False)
        desk.frames(1)
        desk.jump(step)
        desk.frames(calibrate_s - 1.5)
        assert desk.link.text("calibrate/state") == "calibrating"
        desk.frames(1)
        assert desk.link.text("calibrate/state") == "calibrated"
    assert len(desk.link.events("calibrated")) == 2
    desk.node.inbox.on_message("homeassistant/status", b"online", False)
    desk.frames(0.5)
    desk.jump(-3 * HOUR)
    desk.frames(5)  # Home Assistant came online: discovery and state again within 1-5 s
    assert desk.link.republished == 1
