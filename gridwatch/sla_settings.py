"""SLA clocks of the closed loop: the `sla` section of gridwatch's settings."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field, model_validator

from gridwatch.incidents import IncidentCategory
from gridwatch.sections import Section

SeverityName = Literal["low", "medium", "high", "critical"]


class Clocks(Section):
    """Minutes allowed for each part of the loop; each clock starts when the one before stops."""

    accept_min: int = Field(
        gt=0,
        title="Accept within",
        description="Minutes from dispatch, hand-back, reassignment or escalation to an accept.",
    )
    arrive_min: int = Field(
        gt=0, title="Arrive within", description="Minutes from accepting to arriving on site."
    )
    resolve_min: int = Field(
        gt=0, title="Resolve within", description="Minutes from arriving to resolving."
    )


def _overrides() -> dict[IncidentCategory, dict[SeverityName, Clocks]]:
    # Smoke is straw burning about to become a fire; a fall is someone, often old, alone on
    # the ground; a quarrel needs a mediation, not a patrol; a dark camera needs a technician.
    return {
        "smoke": {"high": Clocks(accept_min=10, arrive_min=30, resolve_min=240)},
        "fall": {"high": Clocks(accept_min=10, arrive_min=30, resolve_min=240)},
        "quarrel": {"medium": Clocks(accept_min=30, arrive_min=240, resolve_min=72 * 60)},
        "no_signal": {"low": Clocks(accept_min=240, arrive_min=24 * 60, resolve_min=72 * 60)},
    }


class SlaSettings(Section):
    """Deadlines per severity, overrides per category, and how often reminders repeat."""

    critical: Clocks = Field(
        Clocks(accept_min=5, arrive_min=30, resolve_min=4 * 60),
        title="Critical",
        description="Clocks of critical incidents (a fire, a person by the water).",
    )
    high: Clocks = Field(
        Clocks(accept_min=15, arrive_min=60, resolve_min=8 * 60),
        title="High",
        description="Clocks of high-severity incidents (smoke, a fight, a fall).",
    )
    medium: Clocks = Field(
        Clocks(accept_min=30, arrive_min=2 * 60, resolve_min=24 * 60),
        title="Medium",
        description="Clocks of medium-severity incidents (a crowd, polluted air, a quarrel).",
    )
    low: Clocks = Field(
        Clocks(accept_min=2 * 60, arrive_min=8 * 60, resolve_min=72 * 60),
        title="Low",
        description="Clocks of low-severity incidents (maintenance, routine).",
    )
    categories: dict[IncidentCategory, dict[SeverityName, Clocks]] = Field(
        default_factory=_overrides,
        title="Per category",
        description="Category to severity to clocks, replacing the severity's clocks for "
        "that category; severities not named keep the general clocks.",
    )
    reminders_per_window: int = Field(
        3,
        ge=1,
        title="Reminders per window",
        description="Reminders spread over a clock's window; they go on at that pace after "
        "it is due, until someone acts.",
    )
    shortest_reminder_min: int = Field(
        1,
        gt=0,
        title="Shortest reminder interval",
        description="Minutes between reminders at the least, however short the window.",
    )
    longest_reminder_min: int = Field(
        4 * 60,
        gt=0,
        title="Longest reminder interval",
        description="Minutes between reminders at the most, however long the window.",
    )

    @model_validator(mode="before")
    @classmethod
    def _keep_unset_clocks(cls, data: Any) -> Any:
        # GRIDWATCH_SLA__CRITICAL__ACCEPT_MIN=3 sets one clock; the other two of that severity
        # keep their defaults instead of becoming required.
        if not isinstance(data, dict):
            return data
        filled = dict(data)
        for name in get_args(SeverityName):
            default = cls.model_fields[name].default
            if isinstance(filled.get(name), dict) and isinstance(default, Clocks):
                filled[name] = {**default.model_dump(), **filled[name]}
        return filled

    @model_validator(mode="after")
    def _intervals_in_order(self) -> SlaSettings:
        if self.shortest_reminder_min > self.longest_reminder_min:
            raise ValueError(
                f"shortest_reminder_min ({self.shortest_reminder_min}) is above "
                f"longest_reminder_min ({self.longest_reminder_min})"
            )
        return self
