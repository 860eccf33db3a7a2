"""People, their shifts, latest fixes and duty overrides; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple

import psycopg
from psycopg.rows import dict_row

from gridwatch.people import DutyOverride, LastFix, Person, Role, Roster, RosterDocument, Shift

_PERSON_COLUMNS = "id, name, phone, role, level, node"


class PersonRecord(NamedTuple):
    """A person as stored: whether they are still on the roster, besides who they are."""

    person: Person
    active: bool


class ImportCounts(NamedTuple):
    """What an import did."""

    people: int
    added: int
    changed: int
    deactivated: int
    shifts: int


def has_people(conn: psycopg.Connection) -> bool:
    """Whether any roster was ever imported."""
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM people)").fetchone()
    return bool(row and row[0])


async def import_roster(
    conn: psycopg.AsyncConnection, doc: RosterDocument, *, replace: bool
) -> ImportCounts:
    """Upsert the roster's people and their shifts; `replace` deactivates everyone else."""
    ids = [p.id for p in doc.people]
    cur = await conn.execute("SELECT id FROM people WHERE id = ANY(%s)", (ids,))
    known = {row[0] for row in await cur.fetchall()}
    async with conn.cursor() as cur:
        # A row only changes (and counts) when something about the person does.
        await cur.executemany(
            f"INSERT INTO people ({_PERSON_COLUMNS}) VALUES (%(id)s, %(name)s, %(phone)s,"
            " %(role)s, %(level)s, %(node)s) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,"
            " phone = EXCLUDED.phone, role = EXCLUDED.role, level = EXCLUDED.level,"
            " node = EXCLUDED.node, active = true, updated_at = now()"
            " WHERE (people.name, people.phone, people.role, people.level, people.node,"
            " people.active) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.phone, EXCLUDED.role,"
            " EXCLUDED.level, EXCLUDED.node, true)".encode(),
            [p.model_dump() for p in doc.people],
        )
        written = cur.rowcount
    deactivated = 0
    if replace:
        cur = await conn.execute(
            "UPDATE people SET active = false, updated_at = now()"
            " WHERE active AND NOT (id = ANY(%s))",
            (ids,),
        )
        deactivated = cur.rowcount
        await conn.execute("DELETE FROM shifts WHERE NOT (person_id = ANY(%s))", (ids,))
    await conn.execute("DELETE FROM shifts WHERE person_id = ANY(%s)", (ids,))
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO shifts (person_id, weekdays, dates, start_time, end_time)"
            " VALUES (%s, %s, %s, %s, %s)",
            [
                (s.person_id, list(s.weekdays), list(s.dates), s.start, s.end)
                for s in doc.roster.shifts
            ],
        )
    added = len(ids) - len(known)
    return ImportCounts(len(ids), added, written - added, deactivated, len(doc.roster.shifts))


async def deactivate_person(conn: psycopg.AsyncConnection, person_id: str) -> bool:
    """Take one person off the roster as `import_roster` does the missing; whether they were on."""
    # Never deleted: incidents, timelines and the audit log still name them.
    cur = await conn.execute(
        "UPDATE people SET active = false, updated_at = now() WHERE id = %s AND active",
        (person_id,),
    )
    await conn.execute("DELETE FROM shifts WHERE person_id = %s", (person_id,))
    return cur.rowcount == 1


async def list_people(
    conn: psycopg.AsyncConnection, *, node: str | None = None, role: Role | None = None
) -> list[Person]:
    """Active people, by id; only those at `node` and with `role` when given."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_PERSON_COLUMNS} FROM people WHERE active"
            " AND (%(node)s::text IS NULL OR node = %(node)s)"
            " AND (%(role)s::text IS NULL OR role = %(role)s) ORDER BY id".encode(),
            {"node": node, "role": role},
        )
        return [Person.model_validate(row) for row in await cur.fetchall()]


async def get_person(conn: psycopg.AsyncConnection, person_id: str) -> PersonRecord | None:
    """The person with this id, active or not; None if there is none."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_PERSON_COLUMNS}, active FROM people WHERE id = %s".encode(), (person_id,)
        )
        row = await cur.fetchone()
    if row is None:
        return None
    active = row.pop("active")
    return PersonRecord(Person.model_validate(row), active)


async def load_roster(
    conn: psycopg.AsyncConnection, person_ids: Collection[str] | None = None
) -> Roster:
    """The shifts of active people, of only `person_ids` when given."""
    cur = await conn.execute(
        "SELECT s.person_id, s.weekdays, s.dates, s.start_time, s.end_time FROM shifts s"
        " JOIN people p ON p.id = s.person_id WHERE p.active"
        " AND (%(ids)s::text[] IS NULL OR s.person_id = ANY(%(ids)s)) ORDER BY s.id",
        {"ids": None if person_ids is None else list(person_ids)},
    )
    shifts = [
        Shift(person_id=pid, weekdays=weekdays, dates=dates, start=start, end=end)
        for pid, weekdays, dates, start, end in await cur.fetchall()
    ]
    return Roster(shifts=tuple(shifts))


async def record_fix(conn: psycopg.AsyncConnection, person_id: str, fix: LastFix) -> bool:
    """Keep the fix if it is newer than the one stored; whether it was kept."""
    cur = await conn.execute(
        "INSERT INTO person_fixes (person_id, lat, lon, accuracy_m, at)"
        " VALUES (%(person_id)s, %(lat)s, %(lon)s, %(accuracy_m)s, %(at)s)"
        " ON CONFLICT (person_id) DO UPDATE SET lat = EXCLUDED.lat, lon = EXCLUDED.lon,"
        " accuracy_m = EXCLUDED.accuracy_m, at = EXCLUDED.at"
        " WHERE person_fixes.at < EXCLUDED.at",
        fix.model_dump() | {"person_id": person_id},
    )
    return cur.rowcount == 1


async def latest_fixes(
    conn: psycopg.AsyncConnection, person_ids: Collection[str]
) -> dict[str, LastFix]:
    """The latest fix of each of `person_ids` that has one."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT person_id, lat, lon, accuracy_m, at FROM person_fixes"
            " WHERE person_id = ANY(%s)",
            (list(person_ids),),
        )
        return {row.pop("person_id"): LastFix.model_validate(row) for row in await cur.fetchall()}


async def set_duty(
    conn: psycopg.AsyncConnection, person_id: str, on_duty: bool, until: datetime | None
) -> None:
    """Record "on duty" or "off duty" pressed on the phone, replacing the previous one."""
    await conn.execute(
        "INSERT INTO duty_overrides (person_id, on_duty, until) VALUES (%s, %s, %s)"
        " ON CONFLICT (person_id) DO UPDATE SET on_duty = EXCLUDED.on_duty,"
        " until = EXCLUDED.until, updated_at = now()",
        (person_id, on_duty, until),
    )


async def duty_overrides(
    conn: psycopg.AsyncConnection, person_ids: Collection[str]
) -> dict[str, DutyOverride]:
    """The override each of `person_ids` last pressed, lapsed or not."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT person_id, on_duty, until FROM duty_overrides WHERE person_id = ANY(%s)",
            (list(person_ids),),
        )
        return {
            row.pop("person_id"): DutyOverride.model_validate(row) for row in await cur.fetchall()
        }
