"""The closed loop over HTTP: one endpoint per command, and an incident's timeline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal, get_args

import psycopg
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, TypeAdapter, ValidationError

from alerts.commands import Action, Actor, Command
from alerts.flows import UnknownIncidentError, apply_command
from alerts.lifecycle import IllegalTransition, IncidentCase, Step
from alerts.sla import deadlines
from api.access import check_may_see
from api.deps import ConnDep, CurrentUser, GridDep, SettingsDep, client_address, get_photos
from api.errors import ApiError
from api.loop_schemas import (
    AuditLine,
    AuditRead,
    CaseRead,
    TimelineRead,
    WarningRead,
    clock_read,
)
from api.publish import ACK_TIMEOUT_S
from api.step_body import STEP_BODY_DOC, read_step_body
from gridwatch.accounts import User
from gridwatch.durable import send_durably
from gridwatch.incidents import IncidentEnded
from gridwatch.store.cases import evidence_devices, evidence_snapshots, read_case
from gridwatch.store.outbox import OutboxRecord, claim_records, delete_records, put_records
from gridwatch.store.users import display_names, get_user, incident_audit, record_audit

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/incidents", tags=["loop"])

# The path's word for each command: a phone's URL reads /hand-back, not /hand_back.
PATH_ACTIONS: Mapping[str, Action] = {
    "dispatch": "dispatch",
    "accept": "accept",
    "arrive": "arrive",
    "resolve": "resolve",
    "hand-back": "hand_back",
    "help": "request_help",
    "reassign": "reassign",
    "escalate": "escalate",
    "cancel": "cancel",
    "verify": "verify",
    "close": "close",
}
PathAction = Literal[
    "dispatch",
    "accept",
    "arrive",
    "resolve",
    "hand-back",
    "help",
    "reassign",
    "escalate",
    "cancel",
    "verify",
    "close",
]
_COMMANDS: Mapping[Action, type[Command]] = {
    cls.model_fields["action"].default: cls for cls in get_args(Command)
}
_AWARE = TypeAdapter(AwareDatetime)
# Commands naming people: each must be an account that may sign in.
_NAMING: frozenset[Action] = frozenset({"dispatch", "reassign", "escalate"})


def _command(action: Action, user: User, body: Mapping[str, Any]) -> Command:
    """The command from the body's fields, issued by the caller; 422 naming bad fields."""
    taken = sorted(set(body) & {"actor", "action"})
    if taken:
        raise ApiError(422, "invalid_field", f"{', '.join(taken)}: set by the API, not the body")
    try:
        return _COMMANDS[action].model_validate(
            {**body, "action": action, "actor": Actor(id=user.id, role=user.role)}
        )
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


async def _check_references(request: Request, conn: ConnDep, command: Command) -> None:
    """Named people must be active accounts, and a named photo must be stored."""
    for person in getattr(command, "assignees", ()) if command.action in _NAMING else ():
        user = await get_user(conn, person)
        if user is None or not user.active:
            raise ApiError(422, "unknown_assignee", f"assignees: no active account {person!r}")
    photo = getattr(command, "photo", None)
    if photo is not None and await asyncio.to_thread(get_photos(request).get, photo) is None:
        raise ApiError(422, "unknown_photo", f"photo: no photo has reference {photo!r}")


def _taken_at(given: object) -> datetime | None:
    """The phone's time of a step it kept offline, for the audit; 422 if it is no time."""
    if given is None:
        return None
    try:
        return _AWARE.validate_python(given)
    except ValidationError:
        msg = f"at: a time with its UTC offset, e.g. 2026-11-28T09:14:03+08:00 (got {given!r})"
        raise ApiError(422, "invalid_time", msg) from None


def _ending(case: IncidentCase, step: Step, devices: list[str], topic: str) -> OutboxRecord:
    """The record telling the false-alarm loop how the incident ended."""
    record = IncidentEnded(
        incident_id=case.incident_id,
        cell_id=case.cell_id,
        category=case.category,
        outcome="closed" if case.status == "closed" else "cancelled",
        false_alarm=step.false_alarm,
        reason=step.reason or step.note,
        devices=devices,
        ended_at=step.at,
    )
    value = record.model_dump_json(by_alias=True).encode()
    return OutboxRecord(topic=topic, key=case.cell_id.encode(), value=value)


async def _send_ending(
    request: Request, conn: psycopg.AsyncConnection, case: IncidentCase, row_ids: list[int]
) -> list[WarningRead]:
    """Produce the ending stored in the outbox now; if the log refuses, the relay sends it later."""
    sink = request.app.state.sink
    try:
        if sink is None:
            raise RuntimeError("this API runs without an event log")
        # The row stays locked while it is sent: a dispatcher's relay skips it meanwhile.
        async with conn.transaction():
            claimed = await claim_records(conn, limit=len(row_ids), ids=row_ids)
            for _row, record in claimed:
                await send_durably(
                    sink, record.topic, record.key, record.value, timeout_s=ACK_TIMEOUT_S
                )
            await delete_records(conn, [row for row, _ in claimed])
    except Exception as exc:
        log.warning(
            "incident %s cell_id=%s: ending left in the outbox: %r",
            case.incident_id,
            case.cell_id,
            exc,
        )
        msg = (
            f"{case.status}; the feedback record waits in the outbox for the dispatcher "
            f"to send it ({type(exc).__name__}: {exc})"
        )
        return [WarningRead(code="feedback_delayed", msg=msg)]
    return []


@router.post(
    "/{incident_id}/{action}",
    response_model=CaseRead,
    summary="One step of the closed loop",
    openapi_extra=STEP_BODY_DOC,
)
async def act(
    request: Request,
    conn: ConnDep,
    grid: GridDep,
    settings: SettingsDep,
    user: CurrentUser,
    incident_id: str,
    action: PathAction,
) -> CaseRead:
    """Apply a command as the caller, in one transaction with its audit row."""
    body = await read_step_body(request)
    # Steps and SLA clocks run on the server's clock, which a phone cannot set back; the time
    # the phone says it acted (an offline step) goes to the audit line beside it.
    taken_at = _taken_at(body.pop("at", None))
    at = datetime.now(UTC)
    command = _command(PATH_ACTIONS[action], user, body)
    await _check_references(request, conn, command)
    async with conn.transaction():
        try:
            case, step = await apply_command(
                conn,
                incident_id,
                command,
                at=at,
                sla_cfg=settings.sla,
                guard=partial(check_may_see, user, grid),
                client=client_address(request),
                taken_at=taken_at,
            )
        except UnknownIncidentError as exc:
            raise ApiError(404, "unknown_incident", str(exc)) from None
        except IllegalTransition as exc:
            raise ApiError(409, exc.code, exc.message) from None
        outbox: list[int] = []
        if case.status in ("closed", "cancelled"):
            devices = await evidence_devices(conn, incident_id)
            ending = _ending(case, step, devices, settings.kafka.topic("feedback"))
            # Stored with the step, so a refused or crashed send is retried, never lost.
            outbox = await put_records(conn, [ending])
    log.info("incident %s cell_id=%s: %s by %s", incident_id, case.cell_id, step.action, user.id)
    warnings = await _send_ending(request, conn, case, outbox) if outbox else []
    clock = next(iter(deadlines(case, settings.sla)), None)
    return CaseRead(
        incident_id=incident_id,
        status=case.status,
        level=case.level,
        assignees=list(case.assignees),
        step=step,
        clock=clock_read(clock.clock, clock.level, clock.due_at, at) if clock else None,
        warnings=warnings,
    )


@router.get(
    "/{incident_id}/timeline", response_model=TimelineRead, summary="Every step of an incident"
)
async def read_timeline(
    conn: ConnDep, grid: GridDep, user: CurrentUser, incident_id: str
) -> TimelineRead:
    """The incident's status, level, assignees and steps in the order applied."""
    stored = await read_case(conn, incident_id)
    if stored is None:
        raise ApiError(404, "unknown_incident", f"no incident has id {incident_id!r}")
    check_may_see(user, grid, stored)
    case = stored.case
    named = {*case.assignees, *(s.actor.id for s in case.timeline)}
    named |= {a for s in case.timeline for a in s.assignees}
    return TimelineRead(
        incident_id=incident_id,
        status=case.status,
        level=case.level,
        assignees=list(case.assignees),
        steps=list(case.timeline),
        names=await display_names(conn, named),
    )


_AUDIT_READERS = frozenset({"supervisor", "operator", "admin"})
_AUDIT_LIMIT = 2000


@router.get("/{incident_id}/audit", response_model=AuditRead, summary="Who did and saw what")
async def read_audit(
    request: Request, conn: ConnDep, grid: GridDep, user: CurrentUser, incident_id: str
) -> AuditRead:
    """Every state change of the incident and every read of its photos; not for field roles."""
    if user.role not in _AUDIT_READERS:
        raise ApiError(403, "forbidden_role", "the audit is for supervisors, operators, admins")
    stored = await read_case(conn, incident_id)
    if stored is None:
        raise ApiError(404, "unknown_incident", f"no incident has id {incident_id!r}")
    check_may_see(user, grid, stored)
    photos = [s.photo for s in stored.case.timeline if s.photo is not None]
    photos += await evidence_snapshots(conn, incident_id)
    items = await incident_audit(conn, incident_id, photos, limit=_AUDIT_LIMIT)
    # Reading who saw what is itself worth knowing.
    await record_audit(
        conn,
        actor=user.id,
        action="incident.audit.read",
        target=f"incident:{incident_id}",
        client=client_address(request),
    )
    return AuditRead(incident_id=incident_id, items=[AuditLine.model_validate(i) for i in items])
