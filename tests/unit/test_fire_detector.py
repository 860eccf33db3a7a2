"""The fire and smoke detector step, on plain lists of events."""

from __future__ import annotations

from collections.abc import Iterable

from gridwatch.incidents import IncidentDetected, Severity
from gridwatch.records import RoutedEvent
from gridwatch.settings import DetectSettings
from ingest.validate import route_message
from streams.fire import CellState, step
from tests.support import T0, event, later, payload, small_grid

GRID = small_grid()
CFG = DetectSettings()


def routed(type_: str = "blue-sky.fire", **kw: object) -> RoutedEvent:
    result = route_message(
        "gridwatch/v1/blue-sky/" + str(kw.get("device", "cam-0042")) + "/events",
        payload(event(type_, **kw)),  # type: ignore[arg-type]
        grid=GRID,
        received_at=T0,
    )
    assert isinstance(result, RoutedEvent), result
    return result


def run(
    events: Iterable[RoutedEvent], state: CellState | None = None
) -> tuple[CellState, list[IncidentDetected]]:
    state = state or CellState()
    out: list[IncidentDetected] = []
    for e in events:
        state, emitted = step(state, e, CFG)
        out.extend(emitted)
    return state, out


def test_fire_opens_a_critical_incident_at_once() -> None:
    _, out = run([routed()])
    assert len(out) == 1
    found = out[0]
    assert (found.cell_id, found.category, found.kind) == ("west", "fire", "hazard")
    assert found.severity == Severity.CRITICAL
    assert found.evidence.event_id == "cam-0042-000187"
    assert found.opened_at == T0


def test_redelivered_event_is_ignored() -> None:
    _, out = run([routed(), routed(), routed()])
    assert len(out) == 1


def test_further_fire_in_the_cell_attaches_to_the_open_incident() -> None:
    _, out = run([routed(), routed(event_id="e2", at=later(60), device="cam-0099")])
    assert len(out) == 2
    assert out[0].incident_id == out[1].incident_id
    assert out[1].evidence.device_id == "cam-0099"


def test_fire_after_the_grouping_window_opens_a_new_incident() -> None:
    gap = CFG.group_window_s + 1
    _, out = run([routed(), routed(event_id="e2", at=later(gap))])
    assert out[0].incident_id != out[1].incident_id


def test_low_confidence_fire_is_ignored_but_remembered() -> None:
    state, out = run([routed(confidence=0.2)])
    assert out == []
    assert "cam-0042/cam-0042-000187" in state.seen


def test_smoke_needs_repeated_detections_within_the_window() -> None:
    two = [routed("blue-sky.smoke", event_id=f"s{i}", at=later(i * 30)) for i in range(2)]
    state, out = run(two)
    assert out == []
    third = routed("blue-sky.smoke", event_id="s2", at=later(90))
    _, out = run([third], state)
    assert len(out) == 3
    assert {f.evidence.event_id for f in out} == {"s0", "s1", "s2"}
    assert len({f.incident_id for f in out}) == 1
    assert out[0].opened_at == T0
    assert out[0].severity == Severity.HIGH


def test_smoke_spread_beyond_the_window_is_not_confirmed() -> None:
    spaced = [
        routed("blue-sky.smoke", event_id=f"s{i}", at=later(i * (CFG.smoke_window_s + 1)))
        for i in range(3)
    ]
    _, out = run(spaced)
    assert out == []


def test_confirmed_smoke_takes_further_sightings_as_evidence() -> None:
    smoke = [routed("blue-sky.smoke", event_id=f"s{i}", at=later(i * 10)) for i in range(4)]
    _, out = run(smoke)
    assert len(out) == 4
    assert len({f.incident_id for f in out}) == 1


def test_replaying_a_stream_from_scratch_gives_the_same_incident_ids() -> None:
    stream = [routed("blue-sky.smoke", event_id=f"s{i}", at=later(i * 10)) for i in range(3)] + [
        routed(event_id="f1", at=later(40))
    ]
    _, first = run(stream)
    _, again = run(stream)
    assert [f.incident_id for f in first] == [f.incident_id for f in again]


def test_other_types_pass_through() -> None:
    state, out = run([routed("blue-sky.air", pm25=10.0, pm10=20.0)])
    assert out == []
    assert state == CellState()


def test_state_round_trips_through_json() -> None:
    state, _ = run([routed(), routed("blue-sky.smoke", event_id="s1")])
    assert CellState.model_validate(state.model_dump(mode="json")) == state
