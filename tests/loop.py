"""Helpers for closed-loop tests: people, cases in any status, and a command of each kind."""

from __future__ import annotations

from collections.abc import Iterable

from alerts import commands as cmd
from alerts.lifecycle import IncidentCase, transition
from gridwatch.incidents import IncidentCategory, IncidentStatus, Severity
from gridwatch.people import Level
from tests.support import T0, later

WORKER = cmd.Actor(id="w-1", role="worker")
WORKER_2 = cmd.Actor(id="w-2", role="worker")
SUPERVISOR = cmd.Actor(id="s-1", role="supervisor")
SUPERVISOR_2 = cmd.Actor(id="s-2", role="supervisor")
OPERATOR = cmd.Actor(id="o-1", role="operator")
ADMIN = cmd.Actor(id="a-1", role="admin")
TIMER = cmd.Actor(id="sla-timer", role="system")
FIX = cmd.GpsFix(lat=35.92, lon=114.36, accuracy_m=12.0)
PHOTO = "photo:sha256:" + "ab" * 32


def case(
    status: IncidentStatus = "new",
    *,
    assignees: tuple[str, ...] = (),
    level: Level = "grid",
    category: IncidentCategory = "fire",
    severity: Severity = Severity.CRITICAL,
) -> IncidentCase:
    """A case put straight into a status, with no timeline."""
    return IncidentCase(
        incident_id="c1-fire-0001",
        cell_id="c1",
        category=category,
        severity=severity,
        opened_at=T0,
        status=status,
        level=level,
        assignees=assignees,
    )


def command(action: cmd.Action, actor: cmd.Actor, *, to: tuple[str, ...] = ("w-2",)) -> cmd.Command:
    """A valid command of the given kind; `to` is whom dispatch, reassign or escalate name."""
    match action:
        case "dispatch":
            return cmd.Dispatch(actor=actor, assignees=to)
        case "accept":
            return cmd.Accept(actor=actor)
        case "arrive":
            return cmd.Arrive(actor=actor, gps=FIX)
        case "resolve":
            return cmd.Resolve(actor=actor, note="put out with the village pump", photo=PHOTO)
        case "hand_back":
            return cmd.HandBack(actor=actor, reason="not in my cell")
        case "request_help":
            return cmd.RequestHelp(actor=actor, note="need a second extinguisher")
        case "reassign":
            return cmd.Reassign(actor=actor, assignees=to, reason="w-1 is off sick")
        case "escalate":
            return cmd.Escalate(actor=actor, level="village", reason="accept overdue", assignees=to)
        case "cancel":
            return cmd.Cancel(actor=actor, reason="a permitted burn", false_alarm=True)
        case "verify":
            return cmd.Verify(actor=actor)
        case "close":
            return cmd.Close(actor=actor)


def walk(
    start: IncidentCase, commands: Iterable[cmd.Command], *, every_s: float = 60
) -> IncidentCase:
    """Apply commands one minute (or `every_s`) apart, starting one interval after T0."""
    current = start
    for n, each in enumerate(commands, start=1):
        current, _ = transition(current, each, at=later(n * every_s))
    return current
