"""Stage two: findings of a county become incidents — grouped in space and time, cooled down."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridwatch.detection_settings import FusionSettings
from gridwatch.findings import Finding
from gridwatch.geo.crs import haversine_m
from gridwatch.incidents import (
    IncidentCategory,
    IncidentCleared,
    IncidentDetected,
    IncidentEnded,
    IncidentKind,
    Severity,
    incident_id,
)

IncidentRecord = IncidentDetected | IncidentCleared
FusionInput = Finding | IncidentEnded
# Categories whose rules raise once per episode and clear it (polluted air, a crowd over
# capacity, a noisy gathering, a silent device): such a group outlives the grouping window
# while a source is still raising, and no cool-down holds a new one back — a suppressed raise
# would not come again, and the rule's own hysteresis already keeps it from flapping.
LASTING: frozenset[IncidentCategory] = frozenset(
    {"air_pollution", "crowd", "gathering", "no_signal"}
)
# Source keys of people's reports (streams/detectors/report.py): a report is heard even in a
# cool-down, and never keeps an incident open waiting for a clear that will not come.
REPORT_SOURCE = "report:"
# Smoke and fire from one blaze are one incident: they group together, and the incident
# becomes a fire once any camera sees flames.
FAMILY: dict[str, str] = {"smoke": "fire"}


def family(category: str) -> str:
    """The group a category's findings join: smoke joins fire."""
    return FAMILY.get(category, category)


class Group(BaseModel):
    """An open incident that further findings can join."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_id: str
    category: IncidentCategory
    kind: IncidentKind
    cell_id: str
    lon: float
    lat: float
    opened_at: AwareDatetime
    last_seen: AwareDatetime
    base_severity: Severity
    sources: list[str] = Field(description="Everything that has raised it.")
    active: list[str] = Field(description="Sources that raised it and have not cleared.")


class FusionState(BaseModel):
    """A county's open incidents and cool-downs (a faust table value, stored as JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    groups: list[Group] = Field(default_factory=list)
    cooldowns: dict[str, AwareDatetime] = Field(
        default_factory=dict, description="'category@cell' → until when it may not reopen."
    )


def severity_of(group: Group, cfg: FusionSettings) -> Severity:
    """The detector's severity, one step up per `evidence_per_severity` further sources."""
    steps = (len(group.sources) - 1) // cfg.evidence_per_severity
    return Severity(min(Severity.CRITICAL, group.base_severity + steps))


def _cooldown_key(category: str, cell_id: str) -> str:
    return f"{family(category)}@{cell_id}"


def _prune(state: FusionState, now: datetime, cfg: FusionSettings) -> FusionState:
    oldest = now - timedelta(seconds=cfg.group_window_s)
    groups = [
        g for g in state.groups if g.last_seen >= oldest or (g.category in LASTING and g.active)
    ]
    cooldowns = {k: t for k, t in state.cooldowns.items() if t > now}
    if len(groups) == len(state.groups) and len(cooldowns) == len(state.cooldowns):
        return state
    return FusionState(groups=groups, cooldowns=cooldowns)


def _from_person(finding: Finding) -> bool:
    """A report filed by a person rather than a device's finding."""
    return finding.source_key.startswith(REPORT_SOURCE)


def _clearable(finding: Finding) -> list[str]:
    """The source as one that may clear the incident later; a person's report never does."""
    return [] if _from_person(finding) else [finding.source_key]


def _joinable(group: Group, finding: Finding, cfg: FusionSettings) -> float | None:
    """Distance in metres if the finding may join the group, else None."""
    if family(group.category) != family(finding.category):
        return None
    if group.cell_id == finding.cell_id:
        return 0.0
    if group.kind == "maintenance":
        # A silent device is its own cell's business: each cell gets its own incident.
        return None
    distance = haversine_m(group.lon, group.lat, finding.lon, finding.lat)
    return distance if distance <= cfg.group_distance_m else None


def _raise(
    state: FusionState, finding: Finding, cfg: FusionSettings
) -> tuple[FusionState, list[IncidentRecord]]:
    near = [(d, g) for g in state.groups if (d := _joinable(g, finding, cfg)) is not None]
    others = state.groups
    if near:
        _, group = min(near, key=lambda dg: (dg[0], dg[1].opened_at))
        others = [g for g in state.groups if g is not group]
        group = group.model_copy(
            update={
                "last_seen": max(group.last_seen, finding.time),
                "category": "fire" if finding.category == "fire" else group.category,
                "base_severity": max(group.base_severity, finding.severity),
                "sources": sorted({*group.sources, finding.source_key}),
                "active": sorted({*group.active, *_clearable(finding)}),
            }
        )
    else:
        until = state.cooldowns.get(_cooldown_key(finding.category, finding.cell_id))
        held_back = finding.category not in LASTING and not _from_person(finding)
        if until is not None and finding.time < until and held_back:
            # Just closed here: a lingering detection must not reopen it at once.
            return state, []
        group = Group(
            incident_id=incident_id(finding.cell_id, finding.category, finding.opening_key),
            category=finding.category,
            kind=finding.kind,
            cell_id=finding.cell_id,
            lon=finding.lon,
            lat=finding.lat,
            opened_at=min([finding.time, *(e.time for e in finding.evidence)]),
            last_seen=finding.time,
            base_severity=finding.severity,
            sources=[finding.source_key],
            active=_clearable(finding),
        )
    severity = severity_of(group, cfg)
    emitted: list[IncidentRecord] = [
        IncidentDetected(
            incident_id=group.incident_id,
            cell_id=group.cell_id,
            kind=group.kind,
            category=group.category,
            severity=severity,
            detector=finding.detector,
            opened_at=group.opened_at,
            evidence=evidence,
            note=finding.note,
        )
        for evidence in finding.evidence
    ]
    return state.model_copy(update={"groups": [*others, group]}), emitted


def _close(state: FusionState, group: Group, until: datetime) -> FusionState:
    key = _cooldown_key(group.category, group.cell_id)
    return FusionState(
        groups=[g for g in state.groups if g is not group],
        cooldowns={**state.cooldowns, key: max(until, state.cooldowns.get(key, until))},
    )


def _clear(
    state: FusionState, finding: Finding, cfg: FusionSettings
) -> tuple[FusionState, list[IncidentRecord]]:
    for group in state.groups:
        if group.category == finding.category and finding.source_key in group.active:
            active = [s for s in group.active if s != finding.source_key]
            if active:
                updated = group.model_copy(update={"active": active})
                groups = [updated if g is group else g for g in state.groups]
                return state.model_copy(update={"groups": groups}), []
            cleared = IncidentCleared(
                incident_id=group.incident_id,
                cell_id=group.cell_id,
                cleared_at=finding.time,
                note=finding.note,
            )
            until = finding.time + timedelta(seconds=cfg.cooldown_s)
            return _close(state, group, until), [cleared]
    return state, []


def fuse(
    state: FusionState, item: FusionInput, cfg: FusionSettings
) -> tuple[FusionState, list[IncidentRecord]]:
    """Feed one finding (or a person's closing of an incident); return incident records."""
    now = item.time if isinstance(item, Finding) else item.ended_at
    state = _prune(state, now, cfg)
    if isinstance(item, IncidentEnded):
        for group in state.groups:
            if group.incident_id == item.incident_id:
                return _close(state, group, now + timedelta(seconds=cfg.cooldown_s)), []
        key = _cooldown_key(item.category, item.cell_id)
        until = now + timedelta(seconds=cfg.cooldown_s)
        return state.model_copy(update={"cooldowns": {**state.cooldowns, key: until}}), []
    if item.action == "clear":
        return _clear(state, item, cfg)
    return _raise(state, item, cfg)
