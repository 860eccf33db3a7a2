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
) -> tuple[IncidentCase, Step]:
    """Apply `command` in the caller's transaction once `guard` passes the locked incident."""
    # Raises UnknownIncidentError, the guard's refusal or IllegalTransition before any write.
    locked = await read_case(conn, incident_id, lock=True)
    if locked is None:
        raise UnknownIncidentError(f"no incident has id {incident_id!r}")
    guard(locked)
    case, step = transition(locked.case, command, at=at)
    await save_step(conn, case, step, deadlines(case, sla_cfg))
    return case, step
