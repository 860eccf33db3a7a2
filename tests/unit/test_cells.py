"""Stage one: dispatch by type, drop redeliveries, keep each detector's state apart."""

from __future__ import annotations

from datetime import timedelta

from gridwatch.settings import DetectSettings
from streams.cells import DEDUPE_HORIZON, DEDUPE_MAX, CellState, detect, remember
from streams.detectors.context import CellContext
from tests.detectors import routed
from tests.support import T0, later

CFG = DetectSettings()
CTX = CellContext(cell_id="west")


def test_a_redelivered_event_is_dropped() -> None:
    fire = routed("blue-sky.fire")
    state, first = detect(CellState(), fire, CTX, CFG)
    again, second = detect(state, fire, CTX, CFG)
    assert len(first) == 1
    assert second == []
    assert again is state


def test_events_without_a_detector_leave_the_state_untouched() -> None:
    state = CellState()
    after, found = detect(state, routed("sharp-eyes.motion"), CTX, CFG)
    assert after is state
    assert found == []


def test_detector_state_is_kept_per_detector_as_json() -> None:
    state, _ = detect(CellState(), routed("blue-sky.smoke", event_id="s1"), CTX, CFG)
    assert set(state.detectors) == {"fire"}
    assert CellState.model_validate(state.model_dump(mode="json")) == state


def test_remember_forgets_by_event_time_and_caps_the_count() -> None:
    seen = remember({"old": T0}, "new", T0 + DEDUPE_HORIZON + timedelta(seconds=1))
    assert list(seen) == ["new"]
    many = {f"k{i}": later(i) for i in range(DEDUPE_MAX)}
    capped = remember(many, "last", later(DEDUPE_MAX))
    assert len(capped) == DEDUPE_MAX
    assert "k0" not in capped and "last" in capped
