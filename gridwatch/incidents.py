"""Incidents: what the detectors emit onto `gridwatch.incidents`, keyed by grid cell."""

from __future__ import annotations

import hashlib
from enum import IntEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

IncidentKind = Literal["hazard", "dispute", "maintenance"]
# What was found. Hazards: fire, smoke, air_pollution, crowd (over capacity), intrusion (a
# watched zone such as a riverbank), fall. Disputes: fight, gathering (a crowd with raised
# noise), quarrel (reported by people). Maintenance: no_signal. `other` is for reports only.
IncidentCategory = Literal[
    "fire",
    "smoke",
    "air_pollution",
    "crowd",
    "intrusion",
    "fall",
    "fight",
    "gathering",
    "quarrel",
    "no_signal",
    "other",
]
IncidentStatus = Literal[
    "new",
    "dispatched",
    "accepted",
    "on_site",
    "resolved",
    "verified",
    "closed",
    "escalated",
    "returned",
    "cancelled",
]


class Severity(IntEnum):
    """How bad an incident is; higher is worse."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


class Evidence(BaseModel):
    """One device event that supports an incident."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(description="Device that saw it.")
    event_id: str = Field(description="The device's CloudEvents id.")
    type: str = Field(description="Event type, e.g. blue-sky.smoke.")
    time: AwareDatetime = Field(description="When the device saw it.")
    confidence: float = Field(description="Detector confidence, 0 to 1.")
    lon: float = Field(description="WGS-84 longitude.")
    lat: float = Field(description="WGS-84 latitude.")
    snapshot: str | None = Field(None, description="Snapshot reference, if any.")


class IncidentDetected(BaseModel):
    """A detector's finding: opens the incident or attaches evidence to it (idempotent)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["gridwatch.incident-detected/1"] = Field(
        "gridwatch.incident-detected/1", alias="schema", description="Record schema and version."
    )
    incident_id: str = Field(description="Deterministic id: the same finding gives the same id.")
    cell_id: str = Field(description="Grid cell whose queue the incident is in (the record key).")
    kind: IncidentKind = Field(description="hazard, dispute or maintenance.")
    category: IncidentCategory = Field(description="What was detected.")
    severity: Severity = Field(description="1 low ... 4 critical.")
    detector: str = Field(description="Rule and version that decided, e.g. fire/1.")
    opened_at: AwareDatetime = Field(description="Time of the evidence that opened it.")
    evidence: Evidence = Field(description="The event this record attaches.")
    note: str = Field("", max_length=500, description="The detector's summary of the finding.")


class IncidentCleared(BaseModel):
    """The condition behind an incident stopped (air clean again, device heard again)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["gridwatch.incident-cleared/1"] = Field(
        "gridwatch.incident-cleared/1", alias="schema", description="Record schema and version."
    )
    incident_id: str = Field(description="The incident whose condition ended.")
    cell_id: str = Field(description="Its cell (the record key).")
    cleared_at: AwareDatetime = Field(description="Event time at which it was judged over.")
    note: str = Field("", max_length=500, description="Why, e.g. AQI 80 for 30 min.")


class IncidentEnded(BaseModel):
    """A person closed or cancelled an incident (value on `gridwatch.feedback`, keyed by cell)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["gridwatch.incident-ended/1"] = Field(
        "gridwatch.incident-ended/1", alias="schema", description="Record schema and version."
    )
    incident_id: str = Field(description="The incident.")
    cell_id: str = Field(description="Its cell (the record key).")
    category: IncidentCategory = Field(description="Its category.")
    outcome: Literal["closed", "cancelled"] = Field(description="Handled, or called off.")
    false_alarm: bool = Field(description="Cancelled because nothing was there.")
    reason: str = Field(max_length=2000, description="The person's reason.")
    devices: list[str] = Field(description="Devices whose evidence it had.")
    ended_at: AwareDatetime = Field(description="When it was closed or cancelled.")


def incident_id(cell_id: str, category: str, opening_key: str) -> str:
    """A stable id derived from the cell, the category and the event that opened it."""
    digest = hashlib.blake2b(opening_key.encode(), digest_size=8).hexdigest()
    return f"{cell_id}-{category}-{digest}"
