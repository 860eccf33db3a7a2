"""The stored loop: lock an incident, apply one command with `transition()`, save the step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import psycopg

from alerts.commands import Command
from alerts.lifecycle import IncidentCase, Step, transition
from alerts.sla import deadlines
from gridwatch.sla_settings import SlaSettings
from gridwatch.store.cases import StoredCase, read_case, save_step
from gridwatch.store.users import record_audit

# Called with the locked incident before the command is applied; raises to refuse it.
Guard = Callable[[StoredCase], None]


class UnknownIncidentError(LookupError):
    """No incident has the id a command names."""


async def apply_command(
    conn: psycopg.AsyncConnection,
    incident_id: str,
    command: Command,
    *,
    at: datetime,
    sla_cfg: SlaSettings,
    guard: Guard,
    client: str | None = None,
    taken_at: datetime | None = None,
) -> tuple[IncidentCase, Step]:
    """Apply `command` and write its audit line in the caller's transaction, if `guard` passes."""
    # Raises UnknownIncidentError, the guard's refusal or IllegalTransition before any write.
    locked = await read_case(conn, incident_id, lock=True)
    if locked is None:
        raise UnknownIncidentError(f"no incident has id {incident_id!r}")
    guard(locked)
    case, step = transition(locked.case, command, at=at)
    await save_step(conn, case, step, deadlines(case, sla_cfg))
    # Here rather than in each caller: the dispatcher's steps are state changes too.
    await record_audit(
        conn,
        actor=step.actor.id,
        action=f"incident.{step.action}",
        target=f"incident:{incident_id}",
        detail={"from": step.from_status, "to": step.status, "level": step.level}
        | ({"taken_at": taken_at.isoformat()} if taken_at is not None else {}),
        client=client,
    )
    return case, step
