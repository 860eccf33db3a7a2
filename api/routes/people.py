"""The duty roster: people for supervisors and operators, duty and location from the phone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, Query, Request, Response

from api.deps import ConnDep, CurrentUser, DeskUser, GridDep, client_address, require_roles
from api.errors import ApiError
from api.people_schemas import PersonPut
from api.schemas import (
    DutyIn,
    DutyRead,
    FixIn,
    FixRead,
    PeoplePage,
    PersonDetail,
    PersonRead,
)
from gridwatch.accounts import User
from gridwatch.geo.crs import to_wgs84
from gridwatch.people import (
    LastFix,
    Load,
    Person,
    Role,
    Roster,
    RosterDocument,
    duty_now,
    unknown_nodes,
)
from gridwatch.store.dispatch import open_loads
from gridwatch.store.people import (
    deactivate_person,
    duty_overrides,
    get_person,
    import_roster,
    latest_fixes,
    list_people,
    load_roster,
    record_fix,
    set_duty,
)
from gridwatch.store.users import record_audit

router = APIRouter(tags=["people"])

# Who may change the roster: the county's desks that run the system, not supervisors.
RosterEditor = Annotated[User, Depends(require_roles("operator", "admin"))]
# How far ahead of the server a phone's clock may run before its fixes are refused.
CLOCK_SKEW = timedelta(minutes=2)


def _held(loads: Mapping[str, Load], person_id: str) -> int:
    """The open incidents the person holds, as dispatch counts them (none: 0)."""
    load = loads.get(person_id)
    return 0 if load is None else load.open_assignments


async def _duty(conn: psycopg.AsyncConnection, person: Person, at: datetime) -> DutyRead:
    roster = await load_roster(conn, [person.id])
    override = (await duty_overrides(conn, [person.id])).get(person.id)
    return DutyRead(
        person_id=person.id, on_duty=duty_now(person, roster, override, at), override=override
    )


async def _own_person(conn: psycopg.AsyncConnection, user: User) -> Person:
    """The active roster person the signed-in account is; 409 when there is none."""
    if user.person_id is None:
        msg = "your account is not linked to a person on the duty roster; ask an operator"
        raise ApiError(409, "no_person", msg)
    record = await get_person(conn, user.person_id)
    if record is None or not record.active:
        msg = f"person {user.person_id!r} of your account is not on the duty roster"
        raise ApiError(409, "person_not_on_roster", msg)
    return record.person


@router.get("/v1/people", response_model=PeoplePage, summary="People on the roster")
async def read_people(
    conn: ConnDep,
    _caller: DeskUser,
    node: Annotated[str | None, Query(description="Only those at this node.")] = None,
    role: Annotated[Role | None, Query(description="Only those with this role.")] = None,
) -> PeoplePage:
    """Active people, by id, each with their load."""
    people = await list_people(conn, node=node, role=role)
    loads = await open_loads(conn)
    items = [PersonRead(**p.model_dump(), load=_held(loads, p.id)) for p in people]
    return PeoplePage(items=items, count=len(items))


@router.get("/v1/people/{person_id}", response_model=PersonDetail, summary="A person")
async def read_person(conn: ConnDep, caller: CurrentUser, person_id: str) -> PersonDetail:
    """A person's shifts, duty now, last fix and load; for supervisors and up, or the person."""
    if caller.role not in ("supervisor", "operator", "admin") and caller.person_id != person_id:
        raise ApiError(403, "forbidden", "only supervisors, operators, admins or the person")
    return await _detail(conn, person_id)


async def _detail(conn: psycopg.AsyncConnection, person_id: str) -> PersonDetail:
    """The person's shifts, duty now, last fix and load; 404 for an unknown id."""
    record = await get_person(conn, person_id)
    if record is None:
        raise ApiError(404, "person_not_found", f"no person {person_id!r} on the roster")
    person = record.person
    return PersonDetail(
        **person.model_dump(),
        load=_held(await open_loads(conn), person_id),
        active=record.active,
        shifts=list((await load_roster(conn, [person_id])).shifts),
        duty=await _duty(conn, person, datetime.now(UTC)),
        last_fix=(await latest_fixes(conn, [person_id])).get(person_id),
    )


@router.put("/v1/people/{person_id}", response_model=PersonDetail, summary="Put a person")
async def put_person(
    request: Request,
    response: Response,
    conn: ConnDep,
    grid: GridDep,
    caller: RosterEditor,
    person_id: str,
    body: PersonPut,
) -> PersonDetail:
    """Create or replace the person and all their shifts, back on the roster; audited."""
    person, shifts = body.entry(person_id)
    problems = unknown_nodes([person], grid)
    if problems:
        raise ApiError(422, "unknown_node", problems[0])
    doc = RosterDocument(county=grid.county, people=(person,), roster=Roster(shifts=shifts))
    counts = await import_roster(conn, doc, replace=False)
    await record_audit(
        conn,
        actor=caller.id,
        action="person.put",
        target=f"person:{person_id}",
        detail=body.model_dump(mode="json") | {"added": counts.added == 1},
        client=client_address(request),
    )
    if counts.added:
        response.status_code = 201
    return await _detail(conn, person_id)


@router.delete("/v1/people/{person_id}", status_code=204, summary="Take a person off the roster")
async def remove_person(
    request: Request, conn: ConnDep, caller: RosterEditor, person_id: str
) -> None:
    """Deactivate the person and drop their shifts; their incidents keep naming them; audited."""
    if await get_person(conn, person_id) is None:
        raise ApiError(404, "person_not_found", f"no person {person_id!r} on the roster")
    was_active = await deactivate_person(conn, person_id)
    await record_audit(
        conn,
        actor=caller.id,
        action="person.remove",
        target=f"person:{person_id}",
        detail={"was_active": was_active},
        client=client_address(request),
    )


@router.post("/v1/me/location", response_model=FixRead, summary="Report the phone's position")
async def report_location(conn: ConnDep, caller: CurrentUser, body: FixIn) -> FixRead:
    """Keep the phone's fix, in WGS-84, unless a newer one is stored; only while on duty."""
    person = await _own_person(conn, caller)
    now = datetime.now(UTC)
    if not (await _duty(conn, person, now)).on_duty:
        msg = "you are off duty: the phone reports its position only while on duty"
        raise ApiError(409, "off_duty", msg)
    if body.at is not None and body.at > now + CLOCK_SKEW:
        # Kept, a fix from the future would hide every real one until that time came.
        msg = f"at {body.at.isoformat()} is ahead of the server's clock; check the phone's time"
        raise ApiError(422, "fix_in_future", msg)
    lon, lat = to_wgs84(body.lon, body.lat, body.crs)
    fix = LastFix(lat=lat, lon=lon, accuracy_m=body.accuracy_m, at=body.at or now)
    stored = await record_fix(conn, person.id, fix)
    latest = (await latest_fixes(conn, [person.id]))[person.id]
    return FixRead(stored=stored, last_fix=latest)


@router.post("/v1/me/duty", response_model=DutyRead, summary="Go on or off duty")
async def press_duty(
    request: Request, conn: ConnDep, caller: CurrentUser, body: DutyIn
) -> DutyRead:
    """Override the roster until `until` (or until pressed again); audited."""
    person = await _own_person(conn, caller)
    now = datetime.now(UTC)
    if body.until is not None and body.until <= now:
        raise ApiError(422, "until_in_past", f"until {body.until.isoformat()} has passed")
    await set_duty(conn, person.id, body.on_duty, body.until)
    await record_audit(
        conn,
        actor=caller.id,
        action="person.duty",
        target=f"person:{person.id}",
        detail=body.model_dump(mode="json"),
        client=client_address(request),
    )
    return await _duty(conn, person, now)
