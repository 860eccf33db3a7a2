"""Wire models of the closed loop over HTTP: a step's answer, a timeline, my queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alerts.lifecycle import Step
from alerts.sla import Clock
from api.schemas import IncidentRead
from gridwatch.incidents import IncidentStatus
from gridwatch.people import Level


class _Read(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WarningRead(_Read):
    """Something that went wrong after the state change was committed."""

    code: str
    msg: str


class ClockRead(_Read):
    """The SLA clock running on an incident."""

    clock: Clock
    level: Level
    due_at: datetime
    seconds_left: int = Field(description="Until due_at at the time of the answer; < 0 overdue.")


class CaseRead(_Read):
    """An incident after a step of the loop."""

    incident_id: str
    status: IncidentStatus
    level: Level
    assignees: list[str]
    step: Step = Field(description="The step just recorded.")
    clock: ClockRead | None = Field(description="The clock now running; none once resolved.")
    warnings: list[WarningRead] = Field(description="Failures after the commit, e.g. feedback.")


class TimelineRead(_Read):
    """An incident's place in the loop and every step so far, in the order applied."""

    incident_id: str
    status: IncidentStatus
    level: Level
    assignees: list[str]
    steps: list[Step]
    names: dict[str, str] = Field(
        description="Display name of each account or roster id the timeline names, if known."
    )


class AuditLine(_Read):
    """One audit line: who did what to what, from where."""

    at: datetime
    actor: str = Field(description="Account id, `cli:<user>`, `anonymous` or a system actor.")
    action: str = Field(description="e.g. incident.accept, photo.read.")
    target: str = Field(description="incident:<id> or the photo's reference.")
    detail: dict[str, Any]
    client: str | None = Field(description="The caller's address, when over HTTP.")


class AuditRead(_Read):
    """Every audit line about an incident and its photos, oldest first."""

    incident_id: str
    items: list[AuditLine]


class QueueItem(IncidentRead):
    """An open incident in a person's queue."""

    level: Level
    assigned_to_me: bool = Field(description="False: in my cell, not sent to me (yet).")
    clock: ClockRead | None = Field(description="The clock running, with its countdown.")


class QueuePage(_Read):
    """My queue: most severe first, then the soonest due."""

    items: list[QueueItem]
    count: int


def clock_read(
    clock: Clock | None, level: Level | None, due_at: datetime | None, now: datetime
) -> ClockRead | None:
    """The running clock with its countdown at `now`; None when no clock runs."""
    if clock is None or level is None or due_at is None:
        return None
    left = int((due_at - now).total_seconds())
    return ClockRead(clock=clock, level=level, due_at=due_at, seconds_left=left)
