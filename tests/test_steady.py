"""Steadiness: smoothing and hysteresis of per-frame readings into the published posture (pure)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable

import pytest

from edge_node.posture.geometry import NO_PERSON, Reading
from edge_node.posture.steadiness import Steadier, SteadyConfig
from edge_node.vocabulary import Posture

GOOD = Reading(person=True, verdict="good", view="side", measures={"neck_deg": 12.0})
FORWARD_HEAD = Reading(person=True, verdict="bad", reasons=("forward_head",), view="side")
SLOUCH = Reading(person=True, verdict="bad", reasons=("slouch",), view="side")
BOTH = Reading(person=True, verdict="bad", reasons=("forward_head", "slouch"), view="side")
NO_SHOULDERS = Reading(person=True, verdict="unknown", reasons=("no_shoulders",))
AWAY = NO_PERSON

BY_POSTURE: dict[Posture, Reading] = {
    "good": GOOD,
    "bad": FORWARD_HEAD,
    "unknown": NO_SHOULDERS,
    "away": AWAY,
}
CONTRARY_PAIRS = [(a, b) for a in BY_POSTURE for b in BY_POSTURE if a != b]
CONFIG = SteadyConfig()  # the defaults: bad 3 s, good 1.5 s, away 10 s, unknown 3 s


class Feed:
    """Feeds readings at a frame rate and records every published change."""

    def __init__(self, config: SteadyConfig = CONFIG, fps: float = 10.0, start: float = 1000.0) -> None:
        self.steady = Steadier(config, start)
        self.dt = 1.0 / fps
        self.now = start
        self.changes: list[tuple[float, Posture]] = []
        self.reason_history: list[tuple[str, ...] | None] = []

    def frame(self, reading: Reading) -> None:
        self.now += self.dt
        if self.steady.update(reading, self.now):
            self.changes.append((self.now, self.steady.posture))
        published = self.steady.reading
        self.reason_history.append(published.reasons if published is not None else None)

    def run(self, reading: Reading, seconds: float) -> None:
        for _ in range(round(seconds / self.dt)):
            self.frame(reading)

    def frames(self, readings: Iterable[Reading]) -> None:
        for reading in readings:
            self.frame(reading)

    def settle(self, posture: Posture) -> None:
        """Bring the published posture to `posture` and forget how it got there."""
        self.run(BY_POSTURE[posture], 15.0)
        assert self.steady.posture == posture
        self.changes.clear()
        self.reason_history.clear()


def test_starts_unknown_and_publishes_good_after_good_after_s() -> None:
    feed = Feed()
    assert feed.steady.posture == "unknown"
    feed.run(GOOD, 1.4)
    assert feed.steady.posture == "unknown"
    feed.run(GOOD, 0.3)
    assert feed.steady.posture == "good"
    assert len(feed.changes) == 1


def test_bad_is_published_after_bad_after_s_and_good_comes_back_sooner() -> None:
    feed = Feed()
    feed.settle("good")
    start = feed.now
    feed.run(FORWARD_HEAD, 2.8)
    assert feed.steady.posture == "good"
    feed.run(FORWARD_HEAD, 0.5)
    assert feed.steady.posture == "bad"
    assert feed.changes[0][0] - start == pytest.approx(3.0, abs=0.15)
    back = feed.now
    feed.run(GOOD, 1.6)
    assert feed.steady.posture == "good"
    assert feed.changes[-1][0] - back == pytest.approx(1.5, abs=0.15)


@pytest.mark.parametrize("fps", [1, 2, 5, 10, 30])
@pytest.mark.parametrize(("held", "contrary"), CONTRARY_PAIRS)
def test_a_single_contrary_frame_never_changes_the_published_state(
    fps: int, held: Posture, contrary: Posture
) -> None:
    feed = Feed(fps=fps)
    feed.settle(held)
    for _ in range(20):  # many lone frames, each after a normal stretch
        feed.frame(BY_POSTURE[contrary])
        feed.run(BY_POSTURE[held], 2.0)
    assert feed.changes == []
    assert feed.steady.posture == held


@pytest.mark.parametrize("fps", [2, 10, 30])
@pytest.mark.parametrize(("held", "contrary"), CONTRARY_PAIRS)
def test_a_burst_shorter_than_the_hold_time_never_changes_the_published_state(
    fps: int, held: Posture, contrary: Posture
) -> None:
    hold = {"good": 1.5, "bad": 3.0, "unknown": 3.0, "away": 10.0}[contrary]
    feed = Feed(fps=fps)
    feed.settle(held)
    dt = 1.0 / fps
    # Every burst length from one frame up to one frame short of the hold time.
    frames = 1
    while frames * dt < hold - 1e-9:
        feed.run(BY_POSTURE[contrary], frames * dt)
        feed.run(BY_POSTURE[held], 15.0)  # long enough for the burst to leave every window
        frames += 1
    assert feed.changes == []
    assert feed.steady.posture == held


def test_a_burst_as_long_as_the_hold_time_does_change_it() -> None:
    feed = Feed()
    feed.settle("good")
    feed.run(FORWARD_HEAD, 3.0)
    feed.frame(GOOD)  # the burst's last frame counts until the next one arrives
    assert [p for _, p in feed.changes] == ["bad"]


def test_flickering_frames_do_not_reset_the_clock() -> None:
    """The replaced system restarted its timer on any contrary frame, so a real slouch never alerted."""
    feed = Feed()
    feed.settle("good")
    start = feed.now
    pattern = [FORWARD_HEAD, FORWARD_HEAD, GOOD, FORWARD_HEAD, FORWARD_HEAD, FORWARD_HEAD, FORWARD_HEAD]
    feed.frames(pattern * 8)  # one good frame in seven, for 5.6 s
    assert feed.steady.posture == "bad"
    assert feed.changes[0][0] - start <= 3.0 / 0.8 + 0.2


def test_away_after_away_after_s_with_nobody_in_view() -> None:
    feed = Feed()
    feed.settle("good")
    assert feed.steady.present
    feed.run(AWAY, 9.8)
    assert feed.steady.posture == "good"  # nobody for under 10 s: still the last posture
    feed.run(AWAY, 0.4)
    assert feed.steady.posture == "away"
    assert not feed.steady.present
    assert feed.steady.reading is None


def test_unknown_with_its_reason_when_the_view_allows_no_verdict() -> None:
    feed = Feed()
    feed.settle("good")
    feed.run(NO_SHOULDERS, 2.8)
    assert feed.steady.posture == "good"
    feed.run(NO_SHOULDERS, 0.4)
    assert feed.steady.posture == "unknown"
    assert feed.steady.present
    assert feed.steady.reading is not None
    assert feed.steady.reading.reason_text == "shoulders not in view"


def test_reasons_stay_put_while_frames_flicker_between_reasons() -> None:
    rng = random.Random(7)
    feed = Feed()
    feed.settle("good")
    # Every bad frame has forward head; about half also show a slouch, at random.
    feed.frames(rng.choice([FORWARD_HEAD, BOTH]) for _ in range(600))
    assert [p for _, p in feed.changes] == ["bad"]
    published = [r for r in feed.reason_history if r]
    changes = sum(1 for a, b in itertools.pairwise(published) if a != b)
    assert changes == 0, f"reasons changed {changes} times: {sorted(set(published))}"
    assert published[-1][0] == "forward_head"


def test_a_lasting_change_of_reason_is_published_once() -> None:
    feed = Feed()
    feed.settle("bad")
    assert feed.steady.reading is not None and feed.steady.reading.reasons == ("forward_head",)
    feed.run(SLOUCH, 10.0)
    assert feed.steady.posture == "bad"
    assert feed.changes == []
    distinct = [r for i, r in enumerate(feed.reason_history) if i == 0 or feed.reason_history[i - 1] != r]
    assert distinct == [("forward_head",), ("slouch",)]


def test_a_single_frame_with_another_reason_does_not_change_the_reason() -> None:
    feed = Feed()
    feed.settle("bad")
    for _ in range(10):
        feed.frame(SLOUCH)
        feed.run(FORWARD_HEAD, 1.0)
        feed.frame(GOOD)
        feed.run(FORWARD_HEAD, 1.0)
    assert set(feed.reason_history) == {("forward_head",)}


def test_mixed_verdicts_leave_a_state_they_contradict() -> None:
    feed = Feed()
    feed.settle("good")
    feed.frames([FORWARD_HEAD, NO_SHOULDERS] * 50)  # neither holds 80 %, neither is good
    assert feed.steady.posture in ("bad", "unknown")
    assert len(feed.changes) == 1


def test_rare_frames_count_for_at_most_max_frame_s_each() -> None:
    feed = Feed(fps=0.2)  # a stalling camera: one frame every 5 s
    feed.settle("good")
    feed.frame(FORWARD_HEAD)
    feed.frame(FORWARD_HEAD)  # 1 s of evidence for the first, none yet for this one
    feed.frame(GOOD)  # 2 s of bad evidence: under bad_after_s although 10 s went by
    assert feed.changes == []
    feed.frames([FORWARD_HEAD] * 4)
    assert [p for _, p in feed.changes] == ["bad"]  # a slow camera still gets there


def test_a_clock_step_backwards_neither_switches_nor_crashes() -> None:
    feed = Feed()
    feed.settle("good")
    steady = feed.steady
    assert not steady.update(FORWARD_HEAD, feed.now - 100)
    assert not steady.update(FORWARD_HEAD, feed.now - 50)
    assert steady.posture == "good"


def test_zero_hold_switches_at_once() -> None:
    feed = Feed(SteadyConfig(bad_after_s=0, good_after_s=0))
    feed.frame(GOOD)
    assert feed.steady.posture == "good"
    feed.frame(FORWARD_HEAD)
    assert feed.steady.posture == "bad"


def test_configured_hold_times_are_used() -> None:
    feed = Feed(SteadyConfig(bad_after_s=6.0, good_after_s=0.5, away_after_s=2.0))
    feed.settle("good")
    feed.run(FORWARD_HEAD, 5.5)
    assert feed.steady.posture == "good"
    feed.run(FORWARD_HEAD, 0.7)
    assert feed.steady.posture == "bad"
    feed.run(GOOD, 0.6)
    assert feed.steady.posture == "good"
    feed.run(AWAY, 2.2)
    assert feed.steady.posture == "away"


def test_force_publishes_at_once_and_evidence_starts_again() -> None:
    feed = Feed()
    feed.settle("good")
    assert feed.steady.force("paused", feed.now)
    assert feed.steady.posture == "paused"
    assert not feed.steady.force("paused", feed.now)
    assert feed.steady.force("unknown", feed.now)
    assert feed.steady.reading is None and not feed.steady.present
    feed.frame(GOOD)
    assert feed.steady.posture == "unknown"  # one frame after a reset is not enough
    feed.run(GOOD, 1.6)
    assert feed.steady.posture == "good"


def test_invalid_config_is_refused() -> None:
    with pytest.raises(ValueError, match="share"):
        SteadyConfig(share=0.4)


def test_present_while_unknown_means_a_person_whose_posture_cannot_be_judged() -> None:
    feed = Feed()
    feed.run(GOOD, 1.0)
    assert feed.steady.posture == "unknown"
    assert not feed.steady.present  # still judging: a newcomer is first published good or bad
    feed.run(GOOD, 1.0)
    assert feed.steady.posture == "good" and feed.steady.present
    feed.run(NO_SHOULDERS, 3.5)
    assert feed.steady.posture == "unknown" and feed.steady.present
    feed.run(AWAY, 10.5)
    assert feed.steady.posture == "away" and not feed.steady.present
    feed.steady.force("unknown", feed.now)
    assert not feed.steady.present
