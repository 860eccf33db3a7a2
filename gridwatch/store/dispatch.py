"""The dispatcher's reads and claims: loads, accounts, due clocks; the caller commits."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from alerts.sla import Deadline
from gridwatch.people import Load
from gridwatch.sla_settings import SlaSettings
from gridwatch.store.cases import OPEN_STATUSES


async def open_loads(conn: psycopg.AsyncConnection) -> dict[str, Load]:
    """Open assignments per roster person, counted over their accounts' active assignments."""
    cur = await conn.execute(
        "SELECT u.person_id, count(*) FROM incident_assignees a"
        " JOIN users u ON u.id = a.assignee_id JOIN incidents i ON i.incident_id = a.incident_id"
        " WHERE a.active AND u.person_id IS NOT NULL AND i.status = ANY(%s)"
        " GROUP BY u.person_id",
        (list(OPEN_STATUSES),),
    )
    return {person: Load(open_assignments=n) for person, n in await cur.fetchall()}


async def accounts_of(conn: psycopg.AsyncConnection, person_ids: Collection[str]) -> dict[str, str]:
    """The active account of each of `person_ids` that has one, by person id."""
    cur = await conn.execute(
        "SELECT DISTINCT ON (person_id) person_id, id FROM users"
        " WHERE active AND person_id = ANY(%s) ORDER BY person_id, id",
        (list(person_ids),),
    )
    return {person: account for person, account in await cur.fetchall()}


async def operator_accounts(conn: psycopg.AsyncConnection) -> list[str]:
    """Every active operator account, by id: whom an incident goes to when nobody else can."""
    cur = await conn.execute("SELECT id FROM users WHERE active AND role = 'operator' ORDER BY id")
    return [account for (account,) in await cur.fetchall()]


async def incident_place(conn: psycopg.AsyncConnection, incident_id: str) -> tuple[float, float]:
    """The incident's WGS-84 longitude and latitude."""
    cur = await conn.execute(
        "SELECT lon, lat FROM incidents WHERE incident_id = %s", (incident_id,)
    )
    row = await cur.fetchone()
    if row is None:
        raise LookupError(f"no incident has id {incident_id!r}")
    return row[0], row[1]


async def open_clock(conn: psycopg.AsyncConnection, incident_id: str) -> bool:
    """Whether the incident has an open clock."""
    cur = await conn.execute(
        "SELECT 1 FROM incident_deadlines WHERE incident_id = %s AND done_at IS NULL",
        (incident_id,),
    )
    return await cur.fetchone() is not None


async def start_clock(conn: psycopg.AsyncConnection, deadline: Deadline) -> None:
    """Store a clock for an incident that has none yet (the one running since detection)."""
    await conn.execute(
        "INSERT INTO incident_deadlines (incident_id, clock, level, started_at, due_at)"
        " VALUES (%(incident_id)s, %(clock)s, %(level)s, %(started_at)s, %(due_at)s)",
        deadline.model_dump(exclude={"cell_id"}),
    )


async def claim_clocks(
    conn: psycopg.AsyncConnection, *, now: datetime, cfg: SlaSettings, limit: int
) -> list[dict[str, Any]]:
    """Lock open clocks due or owing a reminder; rows another dispatcher holds are skipped."""
    # The reminder test is next_reminder() in SQL, so the scan only claims rows with something
    # to do; the dispatcher decides again in Python from the same numbers. It compares elapsed
    # time with the interval, never adding an interval to a time: a day added to a timestamptz
    # counts on the session zone's wall clock, 23 or 25 hours across a change of summer time.
    # The window goes through seconds so it holds no days: dividing days rounds twice, and
    # next_reminder() rounds once, to the microsecond.
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT d.id, d.incident_id, i.cell_id, d.clock, d.level, d.started_at, d.due_at,"
            " d.last_reminded_at FROM incident_deadlines d"
            " JOIN incidents i ON i.incident_id = d.incident_id"
            " WHERE d.done_at IS NULL AND i.status NOT IN ('closed', 'cancelled')"
            " AND (d.due_at <= %(now)s"
            "   OR %(now)s - greatest(d.started_at, coalesce(d.last_reminded_at, d.started_at))"
            "   >= least(greatest("
            "     make_interval(secs => extract(epoch FROM d.due_at - d.started_at)) / %(per)s,"
            "     %(shortest)s), %(longest)s))"
            " ORDER BY d.due_at LIMIT %(limit)s FOR UPDATE OF d SKIP LOCKED",
            {
                "now": now,
                "per": cfg.reminders_per_window,
                "shortest": timedelta(minutes=cfg.shortest_reminder_min),
                "longest": timedelta(minutes=cfg.longest_reminder_min),
                "limit": limit,
            },
        )
        return await cur.fetchall()


async def finish_clock(conn: psycopg.AsyncConnection, clock_id: int, at: datetime) -> None:
    """Mark one clock run done: nothing is owed on it any more."""
    await conn.execute(
        "UPDATE incident_deadlines SET done_at = %s WHERE id = %s AND done_at IS NULL",
        (at, clock_id),
    )


async def lock_incident(conn: psycopg.AsyncConnection, incident_id: str) -> bool:
    """Lock the incident unless someone else holds it (so a step in flight never deadlocks us)."""
    cur = await conn.execute(
        "SELECT 1 FROM incidents WHERE incident_id = %s FOR UPDATE SKIP LOCKED", (incident_id,)
    )
    return await cur.fetchone() is not None


async def mark_reminded(conn: psycopg.AsyncConnection, clock_id: int, at: datetime) -> None:
    """Record that the clock's assignees were reminded at `at`."""
    await conn.execute(
        "UPDATE incident_deadlines SET last_reminded_at = %s WHERE id = %s", (at, clock_id)
    )
