"""Fall, fight and intrusion rules, on plain lists of events and recorded device payloads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from gridwatch.detection_settings import PersonSettings
from gridwatch.findings import Finding
from gridwatch.incidents import Severity
from gridwatch.records import RoutedEvent
from streams.detectors.context import CellContext
from streams.detectors.person import PersonState, step
from tests.detectors import recorded, routed
from tests.support import T0

CFG = PersonSettings()
CTX = CellContext(cell_id="west")


def run(events: Iterable[RoutedEvent], ctx: CellContext = CTX) -> list[Finding]:
    state = PersonState()
    out: list[Finding] = []
    for item in events:
        new, found = step(state, item, ctx, CFG)
        assert new is state
        out.extend(found)
    return out


def one(type_: str, **kw: Any) -> list[Finding]:
    return run([routed(type_, **kw)])


@pytest.mark.parametrize(
    ("type_", "minimum", "kind", "category", "detector"),
    [
        ("sharp-eyes.fall", CFG.fall_min_confidence, "hazard", "fall", "fall/1"),
        ("sharp-eyes.fight", CFG.fight_min_confidence, "dispute", "fight", "fight/1"),
    ],
)
def test_fall_and_fight_raise_high_from_their_minimum_confidence(
    type_: str, minimum: float, kind: str, category: str, detector: str
) -> None:
    assert one(type_, confidence=round(minimum - 0.01, 2)) == []
    for confidence in (minimum, round(minimum + 0.01, 2)):
        (found,) = one(type_, confidence=confidence)
        assert (found.kind, found.category, found.detector) == (kind, category, detector)
        assert found.severity == Severity.HIGH
        assert (found.action, found.source_key, found.opening_key) == (
            "raise",
            "cam-0042",
            "cam-0042/cam-0042-000187",
        )
        assert [e.event_id for e in found.evidence] == ["cam-0042-000187"]
        assert found.time == T0 and found.cell_id == "west"


def test_elderly_fall_is_raised_once_the_camera_is_sure() -> None:
    found = run(recorded("sharp-eyes.fall", "elderly-fall"))
    assert [f.opening_key for f in found] == ["se-tangyin-v07-011/se-tangyin-v07-011-002302"]
    assert found[0].note == "a person fell (confidence 0.86)"
    assert found[0].evidence[0].snapshot is not None


def test_market_scuffle_raises_each_sure_detection_for_fusion_to_group() -> None:
    found = run(recorded("sharp-eyes.fight", "market-scuffle"))
    assert [f.evidence[0].confidence for f in found] == [0.74, 0.91]
    assert {(f.kind, f.category, f.severity) for f in found} == {
        ("dispute", "fight", Severity.HIGH)
    }


def intrusion(
    zone: str = "riverbank", objects: list[str] | None = None, **kw: Any
) -> list[Finding]:
    return one("sharp-eyes.intrusion", zone=zone, objects=objects or [], **kw)


def test_person_in_a_watched_zone_is_critical() -> None:
    (found,) = intrusion(objects=["person"])
    assert (found.kind, found.category, found.detector) == ("hazard", "intrusion", "intrusion/1")
    assert found.severity == Severity.CRITICAL
    assert found.note == "person in watched zone riverbank"


def test_a_camera_that_does_not_classify_counts_as_a_person() -> None:
    (found,) = intrusion(objects=[])
    assert found.note == "something in watched zone riverbank"


def test_no_person_among_the_objects_is_no_intrusion() -> None:
    assert intrusion(objects=["dog", "cattle"]) == []


def test_unwatched_zone_is_no_intrusion() -> None:
    assert intrusion(zone="footpath", objects=["person"]) == []


def test_vendor_capitals_in_zone_and_objects_still_match() -> None:
    assert len(intrusion(zone="Reservoir", objects=["Person"])) == 1


def test_cell_zones_replace_the_default_zones() -> None:
    ctx = CellContext(cell_id="west", watched_zones=frozenset({"fishpond"}))
    fishpond = routed("sharp-eyes.intrusion", zone="fishpond", objects=["person"])
    riverbank = routed("sharp-eyes.intrusion", event_id="e2", zone="riverbank")
    assert [f.note for f in run([fishpond, riverbank], ctx)] == ["person in watched zone fishpond"]


def test_intrusion_confidence_boundary() -> None:
    minimum = CFG.intrusion_min_confidence
    assert intrusion(confidence=round(minimum - 0.01, 2)) == []
    assert len(intrusion(confidence=minimum)) == 1
    assert len(intrusion(confidence=round(minimum + 0.01, 2))) == 1


def test_child_at_riverbank_raises_for_the_child_only() -> None:
    found = run(recorded("sharp-eyes.intrusion", "child-at-riverbank"))
    assert [f.note for f in found] == [
        "person in watched zone riverbank",
        "person, bicycle in watched zone riverbank",
    ]
    assert all(f.severity == Severity.CRITICAL for f in found)


def test_other_event_types_are_not_judged() -> None:
    assert one("sharp-eyes.crowd", count=500) == []


def test_state_survives_a_json_round_trip() -> None:
    state = PersonState()
    assert PersonState.model_validate(state.model_dump(mode="json")) == state


def test_a_penalised_camera_must_be_surer() -> None:
    fall = routed("sharp-eyes.fall", confidence=0.75)
    penalised = CellContext(cell_id="west", extra_confirmations={"cam-0042": 2})
    assert len(run([fall])) == 1
    assert run([fall], penalised) == []
    sure = routed("sharp-eyes.fall", event_id="f2", confidence=0.9)
    assert len(run([sure], penalised)) == 1
