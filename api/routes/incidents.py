"""Incident queues per grid cell."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.access import check_may_see, requested_scope
from api.deps import ConnDep, CurrentUser, GridDep
from api.errors import ApiError
from api.schemas import EvidenceRead, IncidentDetail, IncidentPage, IncidentRead, Point
from gridwatch.incidents import IncidentStatus
from gridwatch.store.cases import read_case
from gridwatch.store.incidents import get_incident, list_incidents

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])


def with_location(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its lon/lat columns folded into a `location` point."""
    fields = {k: v for k, v in row.items() if k not in ("lon", "lat", "evidence")}
    return {**fields, "location": Point(lat=row["lat"], lon=row["lon"])}


@router.get("", response_model=IncidentPage, summary="A cell's incident queue")
async def list_queue(
    conn: ConnDep,
    grid: GridDep,
    user: CurrentUser,
    cell: Annotated[str | None, Query(description="Grid cell id; all cells when absent.")] = None,
    status: Annotated[IncidentStatus | None, Query(description="Only this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many.")] = 50,
) -> IncidentPage:
    """Incidents of the caller's area, most severe first and newest first within a severity."""
    scope = requested_scope(user, grid, cell)
    rows = await list_incidents(
        conn, cells=scope.cells, kind=scope.kind, status=status, limit=limit
    )
    items = [IncidentRead.model_validate(with_location(r)) for r in rows]
    return IncidentPage(items=items, count=len(items))


@router.get("/{incident_id}", response_model=IncidentDetail, summary="One incident with evidence")
async def read_incident(
    conn: ConnDep, grid: GridDep, user: CurrentUser, incident_id: str
) -> IncidentDetail:
    """An incident and the device events that support it, if the caller may see it."""
    stored = await read_case(conn, incident_id)
    row = await get_incident(conn, incident_id)
    if stored is None or row is None:
        raise ApiError(404, "unknown_incident", f"no incident has id {incident_id!r}")
    check_may_see(user, grid, stored)
    evidence = [EvidenceRead.model_validate(with_location(e)) for e in row["evidence"]]
    return IncidentDetail.model_validate(with_location(row) | {"evidence": evidence})
