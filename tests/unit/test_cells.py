"""Stage one: dispatch by type, drop redeliveries, keep each detector's state apart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gridwatch.detection_settings import DetectSettings
from gridwatch.devices import DeviceSeen
from gridwatch.findings import Finding
from gridwatch.records import RoutedEvent
from streams.cells import (
    DEDUPE_HORIZON,
    DEDUPE_MAX,
    REPORTED_MAX,
    CellState,
    detect,
    remember,
)
from streams.detectors.context import CellContext
from tests.detectors import recorded, routed
from tests.support import T0, later

CFG = DetectSettings()
CTX = CellContext(cell_id="west")
EVERY = CFG.health.seen_every_s


def received(type_: str, after: float, **kw: Any) -> RoutedEvent:
    """A routed event the bridge received `after` seconds after T0."""
    return routed(type_, **kw).model_copy(update={"received_at": later(after)})


def test_a_redelivered_event_is_dropped() -> None:
    fire = routed("blue-sky.fire")
    state, first = detect(CellState(), fire, CTX, CFG)
    again, second = detect(state, fire, CTX, CFG)
    assert [type(out) for out in first] == [Finding, DeviceSeen]
    assert second == []
    assert again is state


def test_events_without_a_detector_change_the_state_only_for_a_due_liveness_report() -> None:
    state, first = detect(CellState(), received("sharp-eyes.motion", 0, event_id="m1"), CTX, CFG)
    [seen] = first
    assert isinstance(seen, DeviceSeen)
    assert (seen.device_id, seen.cell_id, seen.source_kind) == ("cam-0042", "west", "sharp-eyes")
    after, found = detect(state, received("sharp-eyes.motion", EVERY - 1, event_id="m2"), CTX, CFG)
    assert after is state
    assert found == []
    _, due = detect(state, received("sharp-eyes.motion", EVERY, event_id="m3"), CTX, CFG)
    assert [type(out) for out in due] == [DeviceSeen]


def test_liveness_reports_are_per_device_and_timed_by_the_bridge_not_the_device_clock() -> None:
    state = CellState()
    out: list[object] = []
    # A camera whose clock is stuck still sends, and is still reported as sending.
    for i in range(3):
        for device in ("cam-1", "cam-2"):
            event = received("sharp-eyes.motion", i * EVERY, device=device, event_id=f"{i}", at=T0)
            state, found = detect(state, event, CTX, CFG)
            out.extend(found)
    assert len(out) == 6
    assert CellState.model_validate(state.model_dump(mode="json")) == state


def test_remembered_reports_are_bounded() -> None:
    state = CellState()
    for i in range(REPORTED_MAX + 5):
        event = received("sharp-eyes.motion", i / 1000, device=f"cam-{i}", event_id="m")
        state, _ = detect(state, event, CTX, CFG)
    assert len(state.reported) == REPORTED_MAX
    state, _ = detect(state, received("sharp-eyes.motion", EVERY * 2, event_id="late"), CTX, CFG)
    assert list(state.reported) == ["cam-0042"]


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


def test_recorded_motion_is_never_a_finding() -> None:
    state, outputs = CellState(), []
    for record in recorded("sharp-eyes.motion", "night-lane"):
        state, out = detect(state, record, CTX, CFG)
        outputs.extend(out)
    assert not [o for o in outputs if isinstance(o, Finding)]
    assert state.detectors == {}
