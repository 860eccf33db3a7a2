"""Whom the dispatcher sends an incident to: roster people chosen by policy, as accounts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import psycopg

from alerts.assignment import RESPONDERS, AssignmentRequest, assign
from alerts.commands import LEVELS
from alerts.escalation import levels_above
from gridwatch.assignment_settings import AssignmentSettings
from gridwatch.grid.model import Grid
from gridwatch.people import Level, Person, duty_now
from gridwatch.store.cases import StoredCase
from gridwatch.store.dispatch import accounts_of, incident_place, open_loads, operator_accounts
from gridwatch.store.people import duty_overrides, latest_fixes, list_people, load_roster

log = logging.getLogger(__name__)


async def _accounts(
    conn: psycopg.AsyncConnection, person_ids: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The accounts of the people who have one, in the people's order; and who has none."""
    accounts = await accounts_of(conn, person_ids)
    chosen = list(dict.fromkeys(accounts[p] for p in person_ids if p in accounts))
    return chosen, [p for p in person_ids if p not in accounts]


async def _as_accounts(
    conn: psycopg.AsyncConnection, incident_id: str, person_ids: Sequence[str]
) -> list[str]:
    """The accounts of the people in order; operators' accounts when none of them has one."""
    chosen, without = await _accounts(conn, person_ids)
    for person in without:
        log.info("incident %s: %s has no account, skipped", incident_id, person)
    if chosen:
        return chosen
    log.warning("incident %s: nobody chosen has an account; operators instead", incident_id)
    return await operator_accounts(conn)


async def _on_duty(
    conn: psycopg.AsyncConnection, people: list[Person], at: datetime
) -> list[Person]:
    """The people on duty at `at`, the phone's on/off-duty override winning over the roster."""
    ids = [p.id for p in people]
    roster = await load_roster(conn, ids)
    overrides = await duty_overrides(conn, ids)
    return [p for p in people if duty_now(p, roster, overrides.get(p.id), at)]


async def first_assignees(
    conn: psycopg.AsyncConnection,
    stored: StoredCase,
    *,
    grid: Grid,
    cfg: AssignmentSettings,
    at: datetime,
) -> tuple[list[str], str]:
    """The accounts a detected incident goes to by the assignment policy, and why."""
    case = stored.case
    lon, lat = await incident_place(conn, case.incident_id)
    people = await list_people(conn)
    ids = [p.id for p in people]
    # The policy judges duty by the roster alone; an "off duty" pressed on the phone removes
    # the person before it looks.
    roster = await load_roster(conn, ids)
    overrides = await duty_overrides(conn, ids)
    present = [
        p for p in people if p.id not in overrides or duty_now(p, roster, overrides[p.id], at)
    ]
    request = AssignmentRequest(
        cell_id=case.cell_id,
        kind=stored.kind,
        category=case.category,
        severity=case.severity,
        lon=lon,
        lat=lat,
    )
    chosen = assign(
        request,
        people=present,
        roster=roster,
        fixes=await latest_fixes(conn, ids),
        loads=await open_loads(conn),
        grid=grid,
        cfg=cfg,
        at=at,
    )
    return await _as_accounts(conn, case.incident_id, chosen.primary), chosen.reason


async def level_assignees(
    conn: psycopg.AsyncConnection, stored: StoredCase, level: Level, *, grid: Grid, at: datetime
) -> list[str]:
    """The accounts of whoever answers at `level` above the incident's cell, on duty first."""
    if level == "grid":
        raise ValueError("escalation goes above the grid")
    cell = grid.get(stored.case.cell_id)
    nodes = {"county": grid.county}
    if cell is not None:
        nodes |= {"village": cell.village_id, "township": cell.township_id}
    node = nodes.get(level, grid.county)
    roles = RESPONDERS[level]
    people = [p for p in await list_people(conn, node=node) if p.role in roles]
    # Somebody at the level is told even off shift: an escalation into silence helps nobody.
    chosen = await _on_duty(conn, people, at) or people
    # No operators instead of nobody here: the escalation rule decides about empty levels.
    accounts, _ = await _accounts(conn, [p.id for p in chosen])
    return accounts


async def escalation_candidates(
    conn: psycopg.AsyncConnection, stored: StoredCase, *, grid: Grid, at: datetime
) -> tuple[list[Level], dict[Level, list[str]], list[str]]:
    """The levels above the incident, the accounts at each, and the operators' accounts."""
    above = levels_above(stored.case.level, LEVELS)
    accounts_at = {
        level: await level_assignees(conn, stored, level, grid=grid, at=at) for level in above
    }
    operators = await operator_accounts(conn) if above else []
    return above, accounts_at, operators
