"""Reports filed by people: each one is a finding at once, its kind and severity by category."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from gridwatch.findings import Finding
from gridwatch.incidents import Evidence, IncidentCategory, IncidentKind, Severity
from gridwatch.records import ReportFiled
from streams.detectors.context import CellContext

DETECTOR = "report/1"
TYPES = frozenset({"report"})
NOTE_MAX = 500

# A person on the spot has already confirmed what a camera would still have to, so reports
# raise at once and rank like a confirmed detection of the same thing. `other` goes to the
# hazard queue, the grid worker's, who looks at anything unclassified and can hand a dispute
# on to a mediator. Reports never say no_signal (the API refuses it); should a record carry
# it anyway, it is a device to look at.
KIND_AND_SEVERITY: dict[IncidentCategory, tuple[IncidentKind, Severity]] = {
    "fire": ("hazard", Severity.CRITICAL),
    "intrusion": ("hazard", Severity.CRITICAL),
    "smoke": ("hazard", Severity.HIGH),
    "fall": ("hazard", Severity.HIGH),
    "air_pollution": ("hazard", Severity.MEDIUM),
    "crowd": ("hazard", Severity.MEDIUM),
    "fight": ("dispute", Severity.HIGH),
    "gathering": ("dispute", Severity.MEDIUM),
    "quarrel": ("dispute", Severity.MEDIUM),
    "other": ("hazard", Severity.LOW),
    "no_signal": ("maintenance", Severity.LOW),
}


class ReportState(BaseModel):
    """Nothing: each report stands alone (kept so every detector steps alike)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def step(
    state: ReportState, report: ReportFiled, ctx: CellContext, cfg: object
) -> tuple[ReportState, list[Finding]]:
    """Raise the report as a finding; there is nothing to confirm and nothing to configure."""
    kind, severity = KIND_AND_SEVERITY[report.category]
    evidence = Evidence(
        device_id=f"report:{report.reporter}",
        event_id=report.report_id,
        type=f"report.{report.category}",
        time=report.filed_at,
        confidence=1.0,
        lon=report.lon,
        lat=report.lat,
        snapshot=report.photo,
    )
    finding = Finding(
        detector=DETECTOR,
        kind=kind,
        category=report.category,
        severity=severity,
        cell_id=report.cell_id,
        time=report.filed_at,
        lon=report.lon,
        lat=report.lat,
        opening_key=report.dedupe_key,
        source_key=f"report:{report.report_id}",
        evidence=[evidence],
        note=report.note[:NOTE_MAX],
    )
    return state, [finding]
