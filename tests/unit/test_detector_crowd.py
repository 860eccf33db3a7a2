"""The crowd rules (over capacity, sustained; a loud gathering), on plain lists of events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gridwatch.detection_settings import CrowdSettings
from gridwatch.findings import Finding
from gridwatch.incidents import Severity
from gridwatch.records import RoutedEvent
from streams.detectors.context import CellContext
from streams.detectors.crowd import CrowdState, step
from tests.detectors import recorded, routed
from tests.support import later

CFG = CrowdSettings()
CAPACITY = 60
CTX = CellContext(cell_id="west", capacity=CAPACITY)
SUSTAIN = CFG.sustain_s


def count(at: float, people: int, *, device: str = "cam-0042", **kw: Any) -> RoutedEvent:
    """A count by `device` at T0 + `at` seconds."""
    return routed(
        "sharp-eyes.crowd",
        device=device,
        event_id=f"{device}-{at:g}",
        at=later(at),
        count=people,
        **kw,
    )


def run(events: Iterable[RoutedEvent], ctx: CellContext = CTX) -> tuple[CrowdState, list[Finding]]:
    state = CrowdState()
    out: list[Finding] = []
    for item in events:
        state, found = step(state, item, ctx, CFG)
        out.extend(found)
    return state, out


def counts(*series: tuple[float, int], **kw: Any) -> list[Finding]:
    return run([count(at, people, **kw) for at, people in series])[1]


def test_over_capacity_raises_medium_exactly_when_sustained() -> None:
    assert counts((0, 61), (SUSTAIN - 1, 75)) == []
    (found,) = counts((0, 61), (SUSTAIN, 75))
    assert (found.action, found.kind, found.category) == ("raise", "hazard", "crowd")
    assert (found.detector, found.severity) == ("crowd/1", Severity.MEDIUM)
    assert found.note == "75 people, capacity 60, for 2 min"
    assert [e.event_id for e in found.evidence] == ["cam-0042-0", "cam-0042-120"]
    assert (found.source_key, found.opening_key) == ("cam-0042", "cam-0042/cam-0042-120")
    assert found.time == later(SUSTAIN)


def test_at_capacity_is_not_over() -> None:
    assert counts((0, CAPACITY), (SUSTAIN, CAPACITY), (2 * SUSTAIN, CAPACITY)) == []
    assert len(counts((0, CAPACITY + 1), (SUSTAIN, CAPACITY + 1))) == 1


def test_a_dip_to_capacity_restarts_the_sustain_clock() -> None:
    assert counts((0, 80), (60, CAPACITY), (90, 80), (90 + SUSTAIN - 1, 80)) == []
    (found,) = counts((0, 80), (60, CAPACITY), (90, 80), (90 + SUSTAIN, 80))
    assert found.evidence[0].event_id == "cam-0042-90"


def test_no_repeated_raise_while_over_capacity() -> None:
    found = counts(*[(t, 90) for t in range(0, 1200, 30)])
    assert len(found) == 1


def test_high_needs_twice_the_capacity_sustained() -> None:
    double = 2 * CAPACITY
    (found,) = counts((0, double), (SUSTAIN, double))
    assert found.severity == Severity.HIGH
    (found,) = counts((0, double - 1), (SUSTAIN, double - 1))
    assert found.severity == Severity.MEDIUM
    # One miscounted frame at twice the capacity does not make it HIGH.
    (found,) = counts((0, 70), (SUSTAIN - 30, double + 50), (SUSTAIN, 70))
    assert found.severity == Severity.MEDIUM


def test_rising_severity_raises_again_once() -> None:
    series = [(0, 80), (SUSTAIN, 80), (200, 130), (200 + SUSTAIN, 130), (400, 140), (500, 90)]
    found = counts(*series)
    assert [f.severity for f in found] == [Severity.MEDIUM, Severity.HIGH]
    assert found[1].note == "130 people, capacity 60, for 5 min"


def test_clear_after_a_sustained_stretch_within_capacity() -> None:
    raised = [(0, 80), (SUSTAIN, 80)]
    assert len(counts(*raised, (300, 40), (300 + SUSTAIN - 1, 40))) == 1
    found = counts(*raised, (300, 40), (300 + SUSTAIN, CAPACITY))
    clear = found[-1]
    assert (clear.action, clear.category, clear.source_key) == ("clear", "crowd", "cam-0042")
    assert clear.severity == Severity.MEDIUM and clear.evidence == []
    assert clear.note == "back to 60 people, capacity 60, for 2 min"


def test_going_over_again_while_clearing_neither_clears_nor_raises() -> None:
    series = [(0, 80), (SUSTAIN, 80), (300, 40), (350, 70), (360, 40), (300 + SUSTAIN, 40)]
    state, found = run([count(at, people) for at, people in series])
    assert len(found) == 1
    assert state.cameras["cam-0042"].under_since == later(360)


def test_after_a_clear_a_new_episode_raises_anew() -> None:
    series = [
        (0, 80),
        (SUSTAIN, 80),
        (300, 40),
        (300 + SUSTAIN, 40),
        (600, 80),
        (600 + SUSTAIN, 80),
    ]
    found = counts(*series)
    assert [f.action for f in found] == ["raise", "clear", "raise"]
    assert found[0].opening_key != found[2].opening_key


def test_no_capacity_means_no_crowd_rule() -> None:
    ctx = CellContext(cell_id="west", capacity=None)
    state, found = run([count(0, 500), count(SUSTAIN * 10, 500)], ctx)
    assert found == [] and state == CrowdState()


def test_cameras_are_judged_apart() -> None:
    series = [count(0, 80), count(60, 80, device="cam-0099"), count(SUSTAIN, 80)]
    state, found = run(series)
    assert [f.source_key for f in found] == ["cam-0042"]
    assert set(state.cameras) == {"cam-0042", "cam-0099"}


def test_a_long_silence_restarts_the_stretch() -> None:
    assert counts((0, 80), (CrowdSettings().max_gap_s + 1, 80)) == []
    assert (
        len(
            counts(
                (0, 80),
                (CrowdSettings().max_gap_s + 1, 80),
                (CrowdSettings().max_gap_s + 1 + SUSTAIN, 80),
            )
        )
        == 1
    )


def test_an_open_hazard_outlives_a_long_silence() -> None:
    back = CrowdSettings().max_gap_s + 500
    assert len(counts((0, 80), (SUSTAIN, 80), (back, 80), (back + SUSTAIN, 80))) == 1
    found = counts((0, 80), (SUSTAIN, 80), (back, 40), (back + SUSTAIN, 40))
    assert [f.action for f in found] == ["raise", "clear"]


def test_a_silent_camera_is_pruned_unless_something_is_open() -> None:
    silent = [count(0, 80, device="cam-0099"), count(0, 12, device="cam-0077", noise_db=85.0)]
    state, _ = run([*silent, count(CrowdSettings().max_gap_s + 1, 80)])
    assert set(state.cameras) == {"cam-0042", "cam-0077"}


def test_a_late_count_is_ignored() -> None:
    state, _ = run([count(0, 80), count(60, 80)])
    late = count(30, 10)
    assert step(state, late, CTX, CFG) == (state, [])


def test_low_confidence_counts_leave_the_state_alone() -> None:
    state, _ = run([count(0, 80)])
    below = count(SUSTAIN, 200, confidence=CFG.min_confidence - 0.01, noise_db=95.0)
    new, found = step(state, below, CTX, CFG)
    assert new is state and found == []
    new, found = step(state, count(SUSTAIN, 80, confidence=CFG.min_confidence), CTX, CFG)
    assert len(found) == 1


def test_quiet_counts_within_capacity_store_nothing() -> None:
    state = CrowdState()
    new, found = step(state, count(0, 20, noise_db=60.0), CTX, CFG)
    assert new is state and found == []


def loud(*series: tuple[float, int, float | None]) -> list[Finding]:
    return run([count(at, people, noise_db=db) for at, people, db in series])[1]


def test_a_loud_gathering_is_a_dispute_at_once() -> None:
    (found,) = loud((0, CFG.gathering_min_count, CFG.noise_db))
    assert (found.kind, found.category, found.detector) == ("dispute", "gathering", "crowd/1")
    assert found.severity == Severity.MEDIUM
    assert found.note == "8 people, 80 dB(A)"


def test_gathering_boundaries() -> None:
    assert loud((0, CFG.gathering_min_count - 1, 95.0)) == []
    assert loud((0, 30, CFG.noise_db - 0.1)) == []
    assert len(loud((0, CFG.gathering_min_count + 1, CFG.noise_db + 0.1))) == 1


def test_one_gathering_raise_per_episode_and_clear_after_quiet() -> None:
    series = [(0, 12, 85.0), (20, 14, 90.0), (40, 13, 75.0), (60, 4, 82.0), (80, 12, 70.0)]
    found = loud(*series, (80 + SUSTAIN - 1, 10, 70.0))
    assert [f.action for f in found] == ["raise"]
    found = loud(*series, (80 + SUSTAIN, 10, 70.0))
    assert [f.action for f in found] == ["raise", "clear"]
    assert (found[1].category, found[1].source_key) == ("gathering", "cam-0042")
    assert found[1].note == "quiet, 70 dB(A), for 2 min"


def test_no_noise_reading_neither_starts_nor_ends_a_gathering() -> None:
    assert loud((0, 30, None)) == []
    found = loud((0, 12, 85.0), (60, 12, None), (100, 12, 70.0), (100 + SUSTAIN, 12, None))
    assert [f.action for f in found] == ["raise"]


def test_gathering_works_without_a_capacity() -> None:
    ctx = CellContext(cell_id="west", capacity=None)
    _, found = run([count(0, 10, noise_db=88.0)], ctx)
    assert [f.category for f in found] == ["gathering"]


def test_state_survives_a_json_round_trip() -> None:
    series = [count(0, 130, noise_db=85.0), count(SUSTAIN, 130, noise_db=70.0), count(200, 40)]
    state, _ = run(series)
    camera = state.cameras["cam-0042"]
    assert camera.raised == Severity.HIGH and camera.gathering and camera.under_since
    assert CrowdState.model_validate(state.model_dump(mode="json")) == state


def test_market_day_overflow() -> None:
    state, found = run(recorded("sharp-eyes.crowd", "market-day-overflow"))
    assert [(f.action, f.severity, f.time.strftime("%H:%M:%S"), f.note) for f in found] == [
        ("raise", Severity.MEDIUM, "08:35:30", "88 people, capacity 60, for 2 min"),
        ("raise", Severity.HIGH, "08:44:30", "131 people, capacity 60, for 11 min"),
        ("clear", Severity.HIGH, "08:58:30", "back to 44 people, capacity 60, for 2 min"),
    ]
    assert {f.category for f in found} == {"crowd"}
    assert [e.event_id[-4:] for e in found[0].evidence] == ["4107", "4111"]
    assert state == CrowdState()


def test_noisy_quarrel() -> None:
    _, found = run(recorded("sharp-eyes.crowd", "noisy-quarrel"))
    assert [(f.action, f.category, f.time.strftime("%H:%M:%S"), f.note) for f in found] == [
        ("raise", "gathering", "17:21:40", "11 people, 84 dB(A)"),
        ("clear", "gathering", "17:25:40", "quiet, 62 dB(A), for 2 min"),
    ]
