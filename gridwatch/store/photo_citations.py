"""Which incidents cite a photo, as an evidence snapshot or a step's photo."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from gridwatch.incidents import IncidentKind


@dataclass(frozen=True)
class CitingIncident:
    """An incident that cites a photo: where it is, its kind and who holds it now."""

    incident_id: str
    cell_id: str
    kind: IncidentKind
    assignees: tuple[str, ...]


async def incidents_citing(conn: psycopg.AsyncConnection, ref: str) -> list[CitingIncident]:
    """Every incident whose evidence or timeline cites photo `ref`, with its active assignees."""
    cur = await conn.execute(
        "SELECT i.incident_id, i.cell_id, i.kind,"
        " array_remove(array_agg(a.assignee_id ORDER BY a.assignee_id), NULL)"
        " FROM incidents i LEFT JOIN incident_assignees a"
        "   ON a.incident_id = i.incident_id AND a.active"
        " WHERE i.incident_id IN ("
        "   SELECT incident_id FROM incident_evidence WHERE snapshot = %(ref)s"
        "   UNION SELECT incident_id FROM incident_steps WHERE photo = %(ref)s)"
        " GROUP BY i.incident_id ORDER BY i.incident_id",
        {"ref": ref},
    )
    return [
        CitingIncident(incident_id, cell_id, kind, tuple(assignees))
        for incident_id, cell_id, kind, assignees in await cur.fetchall()
    ]
