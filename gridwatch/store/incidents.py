"""Incident rows: idempotent writes from the incident stream, queue reads for the API."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from gridwatch.incidents import IncidentCleared, IncidentDetected

_UPSERT_INCIDENT = """
INSERT INTO incidents (incident_id, cell_id, kind, category, severity, detector,
                       opened_at, last_evidence_at, lon, lat, summary)
VALUES (%(incident_id)s, %(cell_id)s, %(kind)s, %(category)s, %(severity)s, %(detector)s,
        %(opened_at)s, %(time)s, %(lon)s, %(lat)s, %(note)s)
ON CONFLICT (incident_id) DO UPDATE SET
    severity = GREATEST(incidents.severity, EXCLUDED.severity),
    -- The newest evidence's summary and category win (smoke becomes fire when flames are
    -- seen), whatever order redeliveries come in.
    summary = CASE WHEN EXCLUDED.last_evidence_at >= incidents.last_evidence_at
                   THEN EXCLUDED.summary ELSE incidents.summary END,
    category = CASE WHEN EXCLUDED.last_evidence_at >= incidents.last_evidence_at
                    THEN EXCLUDED.category ELSE incidents.category END,
    opened_at = LEAST(incidents.opened_at, EXCLUDED.opened_at),
    last_evidence_at = GREATEST(incidents.last_evidence_at, EXCLUDED.last_evidence_at),
    updated_at = now()
"""

# Counting only rows this statement inserted keeps evidence_count right under redelivery.
_ADD_EVIDENCE = """
WITH added AS (
    INSERT INTO incident_evidence (incident_id, device_id, event_id, type, time, confidence,
                                   lon, lat, snapshot)
    VALUES (%(incident_id)s, %(device_id)s, %(event_id)s, %(type)s, %(time)s, %(confidence)s,
            %(lon)s, %(lat)s, %(snapshot)s)
    ON CONFLICT DO NOTHING
    RETURNING 1
)
UPDATE incidents SET evidence_count = evidence_count + (SELECT count(*) FROM added)
WHERE incident_id = %(incident_id)s
"""


def _params(found: IncidentDetected) -> dict[str, Any]:
    evidence = found.evidence
    return {
        "incident_id": found.incident_id,
        "cell_id": found.cell_id,
        "kind": found.kind,
        "category": found.category,
        "severity": int(found.severity),
        "detector": found.detector,
        "opened_at": found.opened_at,
        "device_id": evidence.device_id,
        "event_id": evidence.event_id,
        "type": evidence.type,
        "time": evidence.time,
        "confidence": evidence.confidence,
        "lon": evidence.lon,
        "lat": evidence.lat,
        "snapshot": evidence.snapshot,
        "note": found.note,
    }


def record_detections(conn: psycopg.Connection, found: Sequence[IncidentDetected]) -> None:
    """Upsert incidents and attach their evidence; the caller owns the transaction."""
    if not found:
        return
    params = [_params(f) for f in found]
    with conn.cursor() as cur:
        cur.executemany(_UPSERT_INCIDENT, params)
        cur.executemany(_ADD_EVIDENCE, params)


def record_clearances(conn: psycopg.Connection, cleared: Sequence[IncidentCleared]) -> None:
    """Mark incidents whose condition ended; the earliest clearing time is kept.

    A maintenance incident (a silent device heard again) is closed by its clearing: there is
    nothing left for anyone to do. Hazards stay in the queue for a person to verify.
    """
    if not cleared:
        return
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE incidents SET cleared_at = LEAST(COALESCE(cleared_at, %(at)s), %(at)s),"
            " summary = %(note)s, updated_at = now(),"
            " status = CASE WHEN kind = 'maintenance' AND status NOT IN ('closed', 'cancelled')"
            "  THEN 'closed' ELSE status END"
            " WHERE incident_id = %(id)s",
            [{"id": c.incident_id, "at": c.cleared_at, "note": c.note} for c in cleared],
        )
        # A maintenance incident closed so has no clock left for the dispatcher to act on.
        cur.executemany(
            "UPDATE incident_deadlines d SET done_at = %(at)s FROM incidents i"
            " WHERE d.incident_id = %(id)s AND i.incident_id = d.incident_id"
            " AND d.done_at IS NULL AND i.status = 'closed'",
            [{"id": c.incident_id, "at": c.cleared_at} for c in cleared],
        )


_COLUMNS = """incident_id, cell_id, kind, category, severity, status, detector, opened_at,
    last_evidence_at, evidence_count, lon, lat, summary, cleared_at, created_at, updated_at"""


def count_open(conn: psycopg.Connection) -> int:
    """How many incidents are neither closed nor cancelled."""
    row = conn.execute(
        "SELECT count(*) FROM incidents WHERE status NOT IN ('closed', 'cancelled')"
    ).fetchone()
    return int(row[0]) if row else 0


async def list_incidents(
    conn: psycopg.AsyncConnection,
    *,
    cells: Collection[str] | None,
    status: str | None,
    limit: int,
    kind: str | None = None,
    before: datetime | None = None,
) -> list[dict[str, Any]]:
    """A queue of some cells (None: all), most severe first, then newest first."""
    where: list[str] = []
    args: dict[str, Any] = {"limit": limit}
    if cells is not None:
        where.append("cell_id = ANY(%(cells)s)")
        args["cells"] = list(cells)
    if kind is not None:
        where.append("kind = %(kind)s")
        args["kind"] = kind
    if status is not None:
        where.append("status = %(status)s")
        args["status"] = status
    if before is not None:
        where.append("opened_at < %(before)s")
        args["before"] = before
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    query = (
        f"SELECT {_COLUMNS} FROM incidents {clause} "
        "ORDER BY severity DESC, opened_at DESC, incident_id LIMIT %(limit)s"
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query.encode(), args)
        return await cur.fetchall()


async def get_incident(conn: psycopg.AsyncConnection, incident_id: str) -> dict[str, Any] | None:
    """One incident with its evidence events, oldest evidence first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} FROM incidents WHERE incident_id = %s".encode(), (incident_id,)
        )
        incident = await cur.fetchone()
        if incident is None:
            return None
        await cur.execute(
            "SELECT device_id, event_id, type, time, confidence, lon, lat, snapshot"
            " FROM incident_evidence WHERE incident_id = %s ORDER BY time, device_id, event_id",
            (incident_id,),
        )
        incident["evidence"] = await cur.fetchall()
        return incident
