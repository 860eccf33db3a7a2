"""Wire models of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gridwatch.incidents import IncidentCategory, IncidentKind, IncidentStatus


class _Read(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Point(_Read):
    """A WGS-84 point."""

    lat: float
    lon: float


class CellRead(_Read):
    """A grid cell and where it sits in the hierarchy."""

    cell_id: str
    township_id: str
    township_name: str
    village_id: str
    village_name: str
    centroid: Point
    area_km2: float


class EvidenceRead(_Read):
    """A device event that supports an incident."""

    device_id: str
    event_id: str
    type: str
    time: datetime
    confidence: float
    location: Point
    snapshot: str | None


class IncidentRead(_Read):
    """An incident in a cell's queue."""

    incident_id: str
    cell_id: str
    kind: IncidentKind
    category: IncidentCategory
    severity: int = Field(ge=1, le=4, description="1 low ... 4 critical.")
    status: IncidentStatus
    detector: str
    opened_at: datetime
    last_evidence_at: datetime
    evidence_count: int
    location: Point
    created_at: datetime
    updated_at: datetime


class IncidentDetail(IncidentRead):
    """An incident with its evidence events."""

    evidence: list[EvidenceRead]


class IncidentPage(_Read):
    """A page of a queue."""

    items: list[IncidentRead]
    count: int


class DependencyCheck(_Read):
    """The state of one dependency."""

    ok: bool
    required: bool
    detail: str


class Readiness(_Read):
    """Whether the API can serve, per dependency."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, DependencyCheck]
