"""SLA clocks: which deadline runs, when it is due, when to remind, and where escalation goes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from alerts.commands import LEVELS, Action
from alerts.lifecycle import IncidentCase
from gridwatch.incidents import IncidentCategory, IncidentStatus, Severity
from gridwatch.people import Level
from gridwatch.sla_settings import Clocks, SeverityName, SlaSettings

Clock = Literal["accept", "arrive", "resolve"]

# The clock each status runs; resolved and later run none, as the field's part is done.
RUNNING: Mapping[IncidentStatus, Clock] = {
    "new": "accept",
    "dispatched": "accept",
    "returned": "accept",
    "escalated": "accept",
    "accepted": "arrive",
    "on_site": "resolve",
}
# Asking for help is not progress, so it leaves the running clock alone; every other step
# restarts it, an escalation included: the new level gets a whole window.
_KEEPS_CLOCK: frozenset[Action] = frozenset({"request_help"})
_NAMES: Mapping[Severity, SeverityName] = {
    Severity.LOW: "low",
    Severity.MEDIUM: "medium",
    Severity.HIGH: "high",
    Severity.CRITICAL: "critical",
}


class Deadline(BaseModel):
    """A running clock of one incident: which, at what level, since when, due when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_id: str = Field(description="The incident.")
    cell_id: str = Field(description="Its cell.")
    clock: Clock = Field(description="accept, arrive or resolve.")
    level: Level = Field(description="The level the incident is at while the clock runs.")
    started_at: AwareDatetime = Field(description="The step that started the clock.")
    due_at: AwareDatetime = Field(description="When it runs out.")

    @field_validator("started_at", "due_at")
    @classmethod
    def _in_utc(cls, at: datetime) -> datetime:
        """The time in UTC, where arithmetic counts elapsed time."""
        # Python adds to and subtracts times of one zone on its wall clock, and a database
        # session in a zone with summer time hands out times in that zone.
        return at.astimezone(UTC)


def clocks_for(category: IncidentCategory, severity: Severity, cfg: SlaSettings) -> Clocks:
    """The category's clocks for the severity if it has its own, else the severity's."""
    name = _NAMES[severity]
    general = {"low": cfg.low, "medium": cfg.medium, "high": cfg.high, "critical": cfg.critical}
    return cfg.categories.get(category, {}).get(name, general[name])


def deadlines(case: IncidentCase, cfg: SlaSettings) -> list[Deadline]:
    """The clock running in the case's current status, with when it is due (none when done)."""
    clock = RUNNING.get(case.status)
    if clock is None:
        return []
    restarts = [step.at for step in case.timeline if step.action not in _KEEPS_CLOCK]
    # In UTC before the window is added, for the reason Deadline keeps its times in UTC.
    started = (restarts[-1] if restarts else case.opened_at).astimezone(UTC)
    clocks = clocks_for(case.category, case.severity, cfg)
    window = {
        "accept": clocks.accept_min,
        "arrive": clocks.arrive_min,
        "resolve": clocks.resolve_min,
    }
    return [
        Deadline(
            incident_id=case.incident_id,
            cell_id=case.cell_id,
            clock=clock,
            level=case.level,
            started_at=started,
            due_at=started + timedelta(minutes=window[clock]),
        )
    ]


def escalation_level(current: Level, hierarchy: Sequence[Level]) -> Level | None:
    """The next level of the hierarchy above `current`; None at the top (county)."""
    above = [level for level in hierarchy if LEVELS.index(level) > LEVELS.index(current)]
    return min(above, key=LEVELS.index, default=None)


def _interval(deadline: Deadline, cfg: SlaSettings) -> timedelta:
    """The window split into `reminders_per_window`, kept within the shortest and longest."""
    share = (deadline.due_at - deadline.started_at) / cfg.reminders_per_window
    shortest = timedelta(minutes=cfg.shortest_reminder_min)
    return min(max(share, shortest), timedelta(minutes=cfg.longest_reminder_min))


def next_reminder(deadline: Deadline, last_sent: datetime | None, cfg: SlaSettings) -> datetime:
    """When to remind next: one interval after the last reminder of this clock, or its start."""
    # A reminder sent before the clock (re)started belonged to an earlier clock.
    if last_sent is None:
        since = deadline.started_at
    else:
        since = max(last_sent.astimezone(UTC), deadline.started_at)
    return since + _interval(deadline, cfg)
