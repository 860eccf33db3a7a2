"""Fusion: findings become incidents, grouped in space and time, with severity and cool-down."""

from __future__ import annotations

from collections.abc import Iterable

from gridwatch.detection_settings import FusionSettings
from gridwatch.findings import Finding
from gridwatch.incidents import (
    Evidence,
    IncidentCategory,
    IncidentCleared,
    IncidentDetected,
    IncidentEnded,
    Severity,
)
from streams.fusion import FusionInput, FusionState, IncidentRecord, fuse
from tests.support import later

CFG = FusionSettings()
# Two points about 450 m apart (in different cells), and one about 5 km away.
HERE, NEAR, FAR = (114.3200, 35.9200), (114.3250, 35.9200), (114.3750, 35.9200)


def finding(
    source: str,
    at: float = 0,
    *,
    cell: str = "c1",
    where: tuple[float, float] = HERE,
    category: IncidentCategory = "fire",
    severity: Severity = Severity.HIGH,
    action: str = "raise",
) -> Finding:
    evidence = Evidence(
        device_id=source,
        event_id=f"{source}-{at}",
        type="blue-sky.fire",
        time=later(at),
        confidence=0.9,
        lon=where[0],
        lat=where[1],
    )
    return Finding.model_validate(
        {
            "action": action,
            "detector": "test/1",
            "kind": "maintenance" if category == "no_signal" else "hazard",
            "category": category,
            "severity": severity,
            "cell_id": cell,
            "time": later(at),
            "lon": where[0],
            "lat": where[1],
            "opening_key": f"{source}/{at}",
            "source_key": source,
            "evidence": [evidence] if action == "raise" else [],
            "note": f"{source} says so",
        }
    )


def run(
    items: Iterable[FusionInput], state: FusionState | None = None
) -> tuple[FusionState, list[IncidentRecord]]:
    state = state or FusionState()
    out: list[IncidentRecord] = []
    for item in items:
        state, records = fuse(state, item, CFG)
        out.extend(records)
    return state, out


def detected(records: list[IncidentRecord]) -> list[IncidentDetected]:
    return [r for r in records if isinstance(r, IncidentDetected)]


def closed_by_a_person(incident_id: str, *, at: float) -> IncidentEnded:
    """A fire incident of cell c1 closed (not a false alarm) `at` seconds after T0."""
    return IncidentEnded(
        incident_id=incident_id,
        cell_id="c1",
        category="fire",
        outcome="closed",
        false_alarm=False,
        reason="put out",
        devices=["cam-1"],
        ended_at=later(at),
    )


def test_first_finding_opens_an_incident_in_its_cell() -> None:
    _, out = run([finding("cam-1")])
    [record] = detected(out)
    assert record.cell_id == "c1"
    assert record.incident_id.startswith("c1-fire-")
    assert record.severity == Severity.HIGH
    assert record.note == "cam-1 says so"


def test_findings_nearby_join_the_open_incident_even_from_another_cell() -> None:
    _, out = run([finding("cam-1"), finding("cam-2", 60, cell="c2", where=NEAR)])
    ids = {r.incident_id for r in detected(out)}
    assert len(ids) == 1
    assert {r.cell_id for r in detected(out)} == {"c1"}


def test_findings_far_away_or_of_another_category_open_their_own() -> None:
    _, out = run(
        [
            finding("cam-1"),
            finding("cam-2", 60, cell="c3", where=FAR),
            finding("cam-3", 90, category="fall"),
        ]
    )
    assert len({r.incident_id for r in detected(out)}) == 3


def test_severity_rises_with_evidence_from_more_sources() -> None:
    sources = [finding(f"cam-{i}", i * 10, severity=Severity.MEDIUM) for i in range(7)]
    _, out = run(sources)
    assert [r.severity for r in detected(out)] == [2, 2, 2, 3, 3, 3, 4]


def test_the_same_source_again_does_not_raise_severity() -> None:
    _, out = run([finding("cam-1", i * 10, severity=Severity.MEDIUM) for i in range(6)])
    assert {r.severity for r in detected(out)} == {Severity.MEDIUM}


def test_an_incident_nobody_closed_stops_grouping_after_the_window() -> None:
    late = CFG.group_window_s + 1
    _, out = run([finding("cam-1"), finding("cam-1", late)])
    assert len({r.incident_id for r in detected(out)}) == 2


def test_closing_starts_a_cool_down_that_suppresses_reopening() -> None:
    state, out = run([finding("cam-1")])
    ended = closed_by_a_person(detected(out)[0].incident_id, at=100)
    state, out = run([ended, finding("cam-1", 200)], state)
    assert out == []
    _, out = run([finding("cam-1", 100 + CFG.cooldown_s + 1)], state)
    assert len(detected(out)) == 1


def test_a_clear_from_every_raising_source_clears_the_incident() -> None:
    raise_a = finding("st-1", category="air_pollution")
    raise_b = finding("st-2", 30, cell="c2", where=NEAR, category="air_pollution")
    state, out = run([raise_a, raise_b])
    incident = detected(out)[0].incident_id
    state, out = run([finding("st-1", 60, category="air_pollution", action="clear")], state)
    assert out == []
    state, out = run([finding("st-2", 90, category="air_pollution", action="clear")], state)
    assert out == [
        IncidentCleared(
            incident_id=incident, cell_id="c1", cleared_at=later(90), note="st-2 says so"
        )
    ]
    assert state.groups == []
    assert "air_pollution@c1" in state.cooldowns


def test_a_clear_without_an_open_incident_does_nothing() -> None:
    state, out = run([finding("st-9", category="air_pollution", action="clear")])
    assert (state, out) == (FusionState(), [])


def test_replaying_the_same_findings_gives_the_same_records() -> None:
    items = [finding("cam-1"), finding("cam-2", 60, cell="c2", where=NEAR), finding("cam-3", 90)]
    assert run(items)[1] == run(items)[1]


def test_state_round_trips_through_json_and_prunes_by_time() -> None:
    state, _ = run([finding("cam-1")])
    assert FusionState.model_validate(state.model_dump(mode="json")) == state
    later_state, _ = run([finding("x", CFG.group_window_s * 2, cell="c9", where=FAR)], state)
    assert [g.cell_id for g in later_state.groups] == ["c9"]
    assert later_state.groups[0].opened_at == later(CFG.group_window_s * 2)


def test_smoke_and_fire_of_one_blaze_are_one_incident_that_becomes_a_fire() -> None:
    _, out = run(
        [
            finding("cam-1", category="smoke"),
            finding(
                "cam-2", 60, cell="c2", where=NEAR, category="fire", severity=Severity.CRITICAL
            ),
            finding("cam-1", 90, category="smoke"),
        ]
    )
    records = detected(out)
    assert len({r.incident_id for r in records}) == 1
    assert [r.category for r in records] == ["smoke", "fire", "fire"]
    assert records[-1].severity == Severity.CRITICAL


def test_silent_devices_in_neighbouring_cells_get_an_incident_each() -> None:
    silent = [
        finding("cam-1", category="no_signal"),
        finding("cam-2", 30, cell="c2", where=NEAR, category="no_signal"),
    ]
    _, out = run(silent)
    assert {r.cell_id for r in detected(out)} == {"c1", "c2"}


def test_an_episode_longer_than_the_window_still_clears() -> None:
    state, out = run([finding("st-1", category="air_pollution")])
    incident = detected(out)[0].incident_id
    late = CFG.group_window_s * 3
    _, out = run([finding("st-1", late, category="air_pollution", action="clear")], state)
    assert [r.incident_id for r in out] == [incident]


def test_a_new_episode_right_after_a_clear_is_not_held_back() -> None:
    state, _ = run(
        [
            finding("st-1", category="air_pollution"),
            finding("st-1", 60, category="air_pollution", action="clear"),
        ]
    )
    _, out = run([finding("st-1", 120, category="air_pollution")], state)
    assert len(detected(out)) == 1


def test_a_persons_report_is_heard_even_in_a_cool_down() -> None:
    state, out = run([finding("cam-1")])
    ended = closed_by_a_person(detected(out)[0].incident_id, at=100)
    state, _ = run([ended], state)
    _, out = run([finding("report:r1", 200)], state)
    assert len(detected(out)) == 1


def test_a_reported_crowd_does_not_wait_forever_for_a_clear() -> None:
    state, first = run([finding("report:r2", category="crowd")])
    assert state.groups[0].active == []
    _, out = run([finding("cam-9", CFG.group_window_s + 1, category="crowd")], state)
    assert detected(out)[0].incident_id != detected(first)[0].incident_id
