"""The closed loop of GB/T 30428 case handling: one `transition()` that refuses illegal moves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal, NoReturn

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts.commands import (
    LEVELS,
    Action,
    Actor,
    Command,
    Dispatch,
    Escalate,
    GpsFix,
    HandBack,
    Reassign,
    Role,
    Verify,
)
from gridwatch.incidents import IncidentCategory, IncidentStatus, Severity
from gridwatch.people import Level

Scope = Literal["any", "assigned"]
TransitionCode = Literal[
    "forbidden_role",
    "terminal",
    "wrong_status",
    "not_assigned",
    "resolver_cannot_verify",
    "level_not_higher",
]

# Where each command may be issued and where it leaves the incident: one row per command.
# Commands missing a status are illegal there; closed and cancelled appear in no row.
MOVES: Mapping[Action, Mapping[IncidentStatus, IncidentStatus]] = {
    "dispatch": {"new": "dispatched", "returned": "dispatched"},
    "accept": {"dispatched": "accepted", "escalated": "accepted"},
    "arrive": {"accepted": "on_site"},
    "resolve": {"on_site": "resolved"},
    "hand_back": {
        "dispatched": "returned",
        "accepted": "returned",
        "on_site": "returned",
        "escalated": "returned",
    },
    "request_help": {"accepted": "accepted", "on_site": "on_site"},
    "reassign": {
        "dispatched": "dispatched",
        "accepted": "dispatched",
        "on_site": "dispatched",
        "escalated": "dispatched",
    },
    # Nobody holds it yet: it waits at the higher level. Somebody holds it: the level rises
    # and its people are told, but the holder keeps it (they may be on the road already).
    "escalate": {
        "new": "escalated",
        "dispatched": "escalated",
        "returned": "escalated",
        "escalated": "escalated",
        "accepted": "accepted",
        "on_site": "on_site",
    },
    "cancel": {
        "new": "cancelled",
        "dispatched": "cancelled",
        "accepted": "cancelled",
        "on_site": "cancelled",
        "resolved": "cancelled",
        "escalated": "cancelled",
        "returned": "cancelled",
    },
    "verify": {"resolved": "verified"},
    "close": {"verified": "closed"},
}

_FIELD_WORK: Mapping[Action, Scope] = {
    "accept": "assigned",
    "arrive": "assigned",
    "resolve": "assigned",
    "hand_back": "assigned",
    "request_help": "assigned",
}
_OVERSIGHT: Mapping[Action, Scope] = {
    "dispatch": "any",
    "reassign": "any",
    "escalate": "any",
    "cancel": "any",
    "verify": "any",
    "close": "any",
}
# Who may issue what: on "any" incident, or only on those "assigned" to them. Supervisors and
# operators do field work only when it was sent to them (an escalation to their level).
PERMISSIONS: Mapping[Role, Mapping[Action, Scope]] = {
    "worker": _FIELD_WORK,
    "mediator": _FIELD_WORK,
    "supervisor": {**_FIELD_WORK, **_OVERSIGHT},
    "operator": {**_FIELD_WORK, **_OVERSIGHT},
    "admin": {**{action: "any" for action in _FIELD_WORK}, **_OVERSIGHT},
    # The dispatcher sends detected incidents out and escalates overdue ones; nothing else.
    "system": {"dispatch": "any", "escalate": "any"},
}


class IllegalTransition(Exception):  # noqa: N818 - the name issue 4 gives it
    """A command the incident's status, the actor's role or the loop's rules refuse."""

    def __init__(self, code: TransitionCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Step(BaseModel):
    """One move of an incident, as its timeline keeps it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action = Field(description="What was done.")
    actor: Actor = Field(description="Who did it.")
    at: AwareDatetime = Field(description="When it was recorded, by the server's clock.")
    from_status: IncidentStatus = Field(description="Status before the step.")
    status: IncidentStatus = Field(description="Status after the step.")
    level: Level = Field(description="Level of the hierarchy that has the incident after it.")
    assignees: tuple[str, ...] = Field((), description="Whom it was sent to, if anyone.")
    reason: str = Field("", description="Why: hand-back, reassignment, escalation, cancel.")
    note: str = Field("", description="What the actor wrote.")
    photo: str | None = Field(None, description="Photo reference.")
    gps: GpsFix | None = Field(None, description="Where the actor was.")
    false_alarm: bool = Field(False, description="A cancel because nothing was there.")


class IncidentCase(BaseModel):
    """An incident in the loop: status, level, who may act on it, and everything done so far."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_id: str = Field(description="The incident's id.")
    cell_id: str = Field(description="Grid cell whose queue it is in.")
    category: IncidentCategory = Field(description="What was found.")
    severity: Severity = Field(description="How bad it is; picks the SLA clocks.")
    opened_at: AwareDatetime = Field(description="When it was opened.")
    status: IncidentStatus = Field("new", description="Where it is in the loop.")
    level: Level = Field("grid", description="Highest level of the hierarchy drawn in.")
    assignees: tuple[str, ...] = Field((), description="People who may do its field work.")
    timeline: tuple[Step, ...] = Field((), description="Every step, in the order applied.")


def _either(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _some(names: Sequence[str]) -> str:
    return f"{'an' if names[0][0] in 'aeiou' else 'a'} {_either(names)}"


def who_may(action: Action) -> str:
    """The roles that may issue an action, in words, from PERMISSIONS."""
    assigned = [role for role, acts in PERMISSIONS.items() if acts.get(action) == "assigned"]
    anyone = [role for role, acts in PERMISSIONS.items() if acts.get(action) == "any"]
    parts = [f"{_some(assigned)} it is assigned to"] if assigned else []
    return ", or by ".join([*parts, _some(anyone)])


def _refuse(case: IncidentCase, command: Command, code: TransitionCode, why: str) -> NoReturn:
    verb = command.action.replace("_", " ")
    raise IllegalTransition(
        code,
        f"cannot {verb} incident {case.incident_id} while it is {case.status}: {why}; "
        f"{verb} may be done by {who_may(command.action)}",
    )


def _check(case: IncidentCase, command: Command) -> IncidentStatus:
    """The status the command leads to, or IllegalTransition."""
    actor, action = command.actor, command.action
    scope = PERMISSIONS[actor.role].get(action)
    if scope is None:
        _refuse(case, command, "forbidden_role", f"{actor.id} is a {actor.role}")
    target = MOVES[action].get(case.status)
    if target is None:
        legal = [a for a, moves in MOVES.items() if case.status in moves]
        if not legal:
            _refuse(case, command, "terminal", "nothing follows that")
        _refuse(case, command, "wrong_status", f"it must be {_either(list(MOVES[action]))}")
    if scope == "assigned" and actor.id not in case.assignees:
        held = ", ".join(case.assignees) or "nobody"
        _refuse(case, command, "not_assigned", f"it is assigned to {held}, not {actor.id}")
    if isinstance(command, Verify):
        resolvers = [s.actor.id for s in case.timeline if s.action == "resolve"]
        if resolvers and resolvers[-1] == actor.id:
            _refuse(case, command, "resolver_cannot_verify", f"{actor.id} resolved it")
    if isinstance(command, Escalate) and LEVELS.index(command.level) <= LEVELS.index(case.level):
        _refuse(case, command, "level_not_higher", f"it is at {case.level} already")
    return target


def _assignees(case: IncidentCase, command: Command) -> tuple[str, ...]:
    """Who may do the field work after the command."""
    match command:
        case Dispatch() | Reassign():
            return command.assignees
        case Escalate():
            # The people sent it before stay on it: the slow one may still be the nearest.
            added = tuple(p for p in command.assignees if p not in case.assignees)
            return (*case.assignees, *added)
        case HandBack():
            return ()
    return case.assignees


def transition(
    incident: IncidentCase, command: Command, *, at: datetime
) -> tuple[IncidentCase, Step]:
    """Apply one command at a given time: the incident after it and the step recorded."""
    status = _check(incident, command)
    level = command.level if isinstance(command, Escalate) else incident.level
    step = Step.model_validate(
        {
            **command.model_dump(exclude={"actor"}),
            "actor": command.actor,
            "at": at,
            "from_status": incident.status,
            "status": status,
            "level": level,
        }
    )
    updated = incident.model_copy(
        update={
            "status": status,
            "level": level,
            "assignees": _assignees(incident, command),
            "timeline": (*incident.timeline, step),
        }
    )
    return updated, step
