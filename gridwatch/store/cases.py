"""Incidents in the closed loop: lock, save a step, read; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from alerts.lifecycle import MOVES, IncidentCase, Step
from alerts.sla import Deadline
from gridwatch.incidents import IncidentKind, IncidentStatus

_STEP_FIELDS = (
    "action",
    "from_status",
    "status_after",
    "level",
    "actor_id",
    "actor_role",
    "at",
    "reason",
    "note",
    "photo",
    "lat",
    "lon",
    "accuracy_m",
    "detail",
)
_STEP_COLUMNS = ", ".join(_STEP_FIELDS)
# Still in the loop: the statuses some command may follow, which a queue shows.
OPEN_STATUSES = tuple(
    status for status in get_args(IncidentStatus) if any(status in m for m in MOVES.values())
)


@dataclass(frozen=True)
class StoredCase:
    """An incident's case as stored, and its kind."""

    case: IncidentCase
    kind: IncidentKind


def _step(row: dict[str, Any]) -> Step:
    gps = None
    if row["lat"] is not None:
        gps = {"lat": row["lat"], "lon": row["lon"], "accuracy_m": row["accuracy_m"]}
    return Step.model_validate(
        {
            "action": row["action"],
            "actor": {"id": row["actor_id"], "role": row["actor_role"]},
            "at": row["at"],
            "from_status": row["from_status"],
            "status": row["status_after"],
            "level": row["level"],
            "reason": row["reason"],
            "note": row["note"],
            "photo": row["photo"],
            "gps": gps,
            **row["detail"],
        }
    )


async def _case(cur: psycopg.AsyncCursor[dict[str, Any]], row: dict[str, Any]) -> IncidentCase:
    """The case of an incident row, with its active assignees and every step."""
    incident_id = row["incident_id"]
    await cur.execute(
        "SELECT assignee_id FROM incident_assignees WHERE incident_id = %s AND active"
        " ORDER BY assigned_at, assignee_id",
        (incident_id,),
    )
    assignees = tuple(r["assignee_id"] for r in await cur.fetchall())
    await cur.execute(
        f"SELECT {_STEP_COLUMNS} FROM incident_steps WHERE incident_id = %s ORDER BY seq".encode(),
        (incident_id,),
    )
    timeline = tuple(_step(r) for r in await cur.fetchall())
    fields = {k: row[k] for k in ("incident_id", "cell_id", "category", "severity", "opened_at")}
    return IncidentCase.model_validate(
        fields
        | {"status": row["status"], "level": row["level"], "assignees": assignees}
        | {"timeline": timeline}
    )


async def read_case(
    conn: psycopg.AsyncConnection, incident_id: str, *, lock: bool = False
) -> StoredCase | None:
    """The incident's case and kind (row locked FOR UPDATE with `lock`); None if unknown."""
    query = (
        "SELECT incident_id, cell_id, kind, category, severity, opened_at, status, level"
        f" FROM incidents WHERE incident_id = %s{' FOR UPDATE' if lock else ''}"
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query.encode(), (incident_id,))
        row = await cur.fetchone()
        if row is None:
            return None
        return StoredCase(case=await _case(cur, row), kind=row["kind"])


def _step_params(incident_id: str, seq: int, step: Step) -> dict[str, Any]:
    gps = step.gps
    return {
        "incident_id": incident_id,
        "seq": seq,
        "action": step.action,
        "from_status": step.from_status,
        "status_after": step.status,
        "level": step.level,
        "actor_id": step.actor.id,
        "actor_role": step.actor.role,
        "at": step.at,
        "reason": step.reason,
        "note": step.note,
        "photo": step.photo,
        "lat": gps.lat if gps else None,
        "lon": gps.lon if gps else None,
        "accuracy_m": gps.accuracy_m if gps else None,
        "detail": Jsonb({"assignees": list(step.assignees), "false_alarm": step.false_alarm}),
    }


async def save_step(
    conn: psycopg.AsyncConnection, case: IncidentCase, step: Step, deadlines: Sequence[Deadline]
) -> None:
    """Store a step applied to a locked case: the step, status, level, assignees and clocks."""
    incident_id, at = case.incident_id, step.at
    params = _step_params(incident_id, len(case.timeline), step)
    values = ", ".join(f"%({field})s" for field in _STEP_FIELDS)
    await conn.execute(
        f"INSERT INTO incident_steps (incident_id, seq, {_STEP_COLUMNS})"
        f" VALUES (%(incident_id)s, %(seq)s, {values})".encode(),
        params,
    )
    await conn.execute(
        "UPDATE incidents SET status = %s, level = %s, updated_at = now() WHERE incident_id = %s",
        (case.status, case.level, incident_id),
    )
    await _save_assignees(conn, case, at)
    await _replace_deadlines(conn, incident_id, deadlines, at)


async def _save_assignees(conn: psycopg.AsyncConnection, case: IncidentCase, at: datetime) -> None:
    await conn.execute(
        "UPDATE incident_assignees SET active = false"
        " WHERE incident_id = %s AND active AND NOT (assignee_id = ANY(%s))",
        (case.incident_id, list(case.assignees)),
    )
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO incident_assignees (incident_id, assignee_id, level, assigned_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (incident_id, assignee_id) DO UPDATE SET"
            " active = true, level = EXCLUDED.level, assigned_at = EXCLUDED.assigned_at"
            " WHERE NOT incident_assignees.active",
            [(case.incident_id, person, case.level, at) for person in case.assignees],
        )


async def _replace_deadlines(
    conn: psycopg.AsyncConnection, incident_id: str, deadlines: Sequence[Deadline], at: datetime
) -> None:
    """Finish the open clocks a step ended and start the ones it began.

    A clock the step left running (a call for help) keeps its row: a new row would forget
    when it last reminded, and remind again at once.
    """
    cur = await conn.execute(
        "SELECT id, clock, level, started_at, due_at FROM incident_deadlines"
        " WHERE incident_id = %s AND done_at IS NULL",
        (incident_id,),
    )
    running = {tuple(row[1:]): row[0] for row in await cur.fetchall()}
    wanted = [(d.clock, d.level, d.started_at, d.due_at) for d in deadlines]
    ended = [row_id for key, row_id in running.items() if key not in wanted]
    await conn.execute("UPDATE incident_deadlines SET done_at = %s WHERE id = ANY(%s)", (at, ended))
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO incident_deadlines (incident_id, clock, level, started_at, due_at)"
            " VALUES (%(incident_id)s, %(clock)s, %(level)s, %(started_at)s, %(due_at)s)",
            [
                d.model_dump(exclude={"cell_id"})
                for d, key in zip(deadlines, wanted, strict=True)
                if key not in running
            ],
        )


async def evidence_devices(conn: psycopg.AsyncConnection, incident_id: str) -> list[str]:
    """The distinct devices whose evidence the incident has, by id."""
    cur = await conn.execute(
        "SELECT DISTINCT device_id FROM incident_evidence WHERE incident_id = %s"
        " ORDER BY device_id",
        (incident_id,),
    )
    return [device for (device,) in await cur.fetchall()]


async def evidence_snapshots(conn: psycopg.AsyncConnection, incident_id: str) -> list[str]:
    """The snapshot references of the incident's evidence."""
    cur = await conn.execute(
        "SELECT DISTINCT snapshot FROM incident_evidence"
        " WHERE incident_id = %s AND snapshot IS NOT NULL",
        (incident_id,),
    )
    return [ref for (ref,) in await cur.fetchall()]


async def list_queue(
    conn: psycopg.AsyncConnection, *, person_ids: Sequence[str], cell_id: str | None, limit: int
) -> list[dict[str, Any]]:
    """Open incidents held by `person_ids` or in `cell_id`: most severe, then soonest due."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT i.incident_id, i.cell_id, i.kind, i.category, i.severity, i.status, i.level,"
            " i.detector, i.opened_at, i.last_evidence_at, i.evidence_count, i.lon, i.lat,"
            " i.summary, i.cleared_at, i.created_at, i.updated_at,"
            " d.clock, d.level AS clock_level, d.due_at,"
            " EXISTS (SELECT 1 FROM incident_assignees a WHERE a.incident_id = i.incident_id"
            "   AND a.active AND a.assignee_id = ANY(%(people)s)) AS assigned_to_me"
            " FROM incidents i LEFT JOIN incident_deadlines d"
            "   ON d.incident_id = i.incident_id AND d.done_at IS NULL"
            " WHERE i.status = ANY(%(open)s) AND (i.cell_id = %(cell)s OR EXISTS ("
            "   SELECT 1 FROM incident_assignees a WHERE a.incident_id = i.incident_id"
            "   AND a.active AND a.assignee_id = ANY(%(people)s)))"
            " ORDER BY i.severity DESC, d.due_at NULLS LAST, i.opened_at, i.incident_id"
            " LIMIT %(limit)s",
            {"people": list(person_ids), "cell": cell_id, "open": list(OPEN_STATUSES)}
            | {"limit": limit},
        )
        return await cur.fetchall()
