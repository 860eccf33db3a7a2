"""People on duty with accounts: the roster rows and users the dispatcher sends incidents to."""

from __future__ import annotations

import asyncio
import uuid
from datetime import time

import psycopg

from gridwatch.accounts import User
from gridwatch.grid.model import Cell, Grid
from gridwatch.people import Person, Roster, RosterDocument, Shift
from gridwatch.settings import Settings
from gridwatch.store.people import import_roster
from tests.conftest import add_user

# A shift from midnight to midnight: on duty whenever the test runs.
ALL_DAY = time(0, 0)
PASSWORD = "a long passphrase"


def always_on_duty(person_id: str) -> Shift:
    """A shift from midnight to midnight every day of the week."""
    return Shift(person_id=person_id, weekdays=(1, 2, 3, 4, 5, 6, 7), start=ALL_DAY, end=ALL_DAY)


def staff_on_duty(settings: Settings, grid: Grid, cell: Cell) -> dict[str, User]:
    """The cell's worker and its village supervisor, on duty all week, with accounts."""
    worker = Person(
        id=f"W-{cell.id[:10]}", name="网格员", role="worker", level="grid", node=cell.id
    )
    boss = Person(
        id=f"S-{uuid.uuid4().hex[:6]}",
        name="村主任",
        role="supervisor",
        level="village",
        node=cell.village_id,
    )
    shifts = tuple(always_on_duty(p.id) for p in (worker, boss))
    doc = RosterDocument(county=grid.county, people=(worker, boss), roster=Roster(shifts=shifts))

    async def load() -> None:
        async with await psycopg.AsyncConnection.connect(settings.postgres.conninfo()) as conn:
            await import_roster(conn, doc, replace=False)

    users = {
        "worker": add_user(settings, "worker", cell.id, person_id=worker.id, password=PASSWORD),
        "supervisor": add_user(
            settings, "supervisor", cell.village_id, person_id=boss.id, password=PASSWORD
        ),
    }
    asyncio.run(load())
    return users
