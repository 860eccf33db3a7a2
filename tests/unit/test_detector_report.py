"""The report rule: every report a person files is a finding at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest

from api.schemas import ReportCategory
from gridwatch.findings import Finding
from gridwatch.incidents import Evidence, IncidentCategory, Severity
from gridwatch.records import ReportFiled
from streams.detectors.context import CellContext
from streams.detectors.report import KIND_AND_SEVERITY, NOTE_MAX, ReportState, step
from tests.support import T0

FIXTURES = Path(__file__).parents[1] / "fixtures" / "events" / "report"
CTX = CellContext(cell_id="west")


def report(**fields: Any) -> ReportFiled:
    """A citizen's report in the west cell of the small grid."""
    base: dict[str, Any] = {
        "report_id": "0f3a9c2e7b5d4e1f8a6c3b9d2e7f1a40",
        "cell_id": "west",
        "category": "fire",
        "note": "smoke and flames behind the school",
        "lon": 114.32,
        "lat": 35.92,
        "reporter": "anonymous",
        "reporter_role": "citizen",
        "filed_at": T0,
    }
    return ReportFiled.model_validate(base | fields)


def run(*reports: ReportFiled) -> list[Finding]:
    state = ReportState()
    out: list[Finding] = []
    for filed in reports:
        new, found = step(state, filed, CTX, object())
        assert new is state
        out.extend(found)
    return out


def test_a_report_is_one_finding_with_the_person_as_evidence() -> None:
    photo = "photo:sha256:" + "ab" * 32
    filed = report(photo=photo, reporter="w-0117", reporter_role="worker")
    [found] = run(filed)
    assert found.action == "raise"
    assert (found.detector, found.kind, found.category) == ("report/1", "hazard", "fire")
    assert found.severity == Severity.CRITICAL
    assert (found.cell_id, found.time, found.lon, found.lat) == ("west", T0, 114.32, 35.92)
    assert found.opening_key == f"report/{filed.report_id}" == filed.dedupe_key
    assert found.source_key == f"report:{filed.report_id}"
    assert found.note == filed.note
    assert found.evidence == [
        Evidence(
            device_id="report:w-0117",
            event_id=filed.report_id,
            type="report.fire",
            time=T0,
            confidence=1.0,
            lon=114.32,
            lat=35.92,
            snapshot=photo,
        )
    ]


@pytest.mark.parametrize(
    ("category", "kind", "severity"),
    [
        ("fire", "hazard", Severity.CRITICAL),
        ("intrusion", "hazard", Severity.CRITICAL),
        ("smoke", "hazard", Severity.HIGH),
        ("fall", "hazard", Severity.HIGH),
        ("fight", "dispute", Severity.HIGH),
        ("gathering", "dispute", Severity.MEDIUM),
        ("quarrel", "dispute", Severity.MEDIUM),
        ("other", "hazard", Severity.LOW),
    ],
)
def test_kind_and_severity_follow_the_category(
    category: IncidentCategory, kind: str, severity: Severity
) -> None:
    [found] = run(report(category=category))
    assert (found.kind, found.severity, found.category) == (kind, severity, category)
    assert found.evidence[0].type == f"report.{category}"


def test_every_category_has_a_kind_and_people_may_report_all_but_no_signal() -> None:
    assert set(KIND_AND_SEVERITY) == set(get_args(IncidentCategory))
    assert set(get_args(ReportCategory)) == set(get_args(IncidentCategory)) - {"no_signal"}


def test_a_long_note_is_cut_to_what_a_finding_holds() -> None:
    [found] = run(report(note="火" * 2000))
    assert found.note == "火" * NOTE_MAX


def test_the_same_report_twice_gives_the_same_finding() -> None:
    # A re-delivered report must open the same incident (fusion derives its id from these).
    assert run(report()) == run(report())


def test_state_survives_its_json_round_trip() -> None:
    state = ReportState()
    assert ReportState.model_validate(state.model_dump(mode="json")) == state


def test_recorded_reports() -> None:
    docs = json.loads((FIXTURES / "straw-burning-and-quarrel.json").read_text("utf-8"))
    fire, quarrel = run(*(ReportFiled.model_validate(doc) for doc in docs))
    assert (fire.kind, fire.category, fire.severity) == ("hazard", "fire", Severity.CRITICAL)
    assert fire.evidence[0].snapshot == docs[0]["photo"]
    assert fire.cell_id == "884092c5c3fffff"
    assert (quarrel.kind, quarrel.severity) == ("dispute", Severity.MEDIUM)
    assert quarrel.evidence[0].device_id == "report:anonymous"
    assert quarrel.note.startswith("两户村民")
