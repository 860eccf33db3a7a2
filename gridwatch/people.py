"""People and duty: who belongs where in the grid hierarchy, their shifts, fixes and load."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from gridwatch.grid.model import Grid

Role = Literal["worker", "mediator", "supervisor", "operator", "admin"]
Level = Literal["grid", "village", "township", "county"]
# ISO weekday numbers, as `date.isoweekday()` gives them: 1 is Monday, 7 is Sunday.
Weekday = Annotated[int, Field(ge=1, le=7)]
# Every shift is written in the county's wall-clock time; China has kept UTC+8 without
# daylight saving since 1991, but going through zoneinfo keeps that a fact of the data.
TIMEZONE = "Asia/Shanghai"
# Which levels of the hierarchy a role can be attached to.
ROLE_LEVELS: dict[str, frozenset[str]] = {
    "worker": frozenset({"grid"}),
    "mediator": frozenset({"village", "township", "county"}),
    "supervisor": frozenset({"village", "township", "county"}),
    "operator": frozenset({"county"}),
    "admin": frozenset({"county"}),
}


class Person(BaseModel):
    """Someone incidents can go to, attached to one node of grid → village → township → county."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="Stable person id, e.g. W-88319ac901.")
    name: str = Field(min_length=1, description="Display name.")
    phone: str | None = Field(None, description="Phone number for SMS or voice, if any.")
    role: Role = Field(description="worker, mediator, supervisor, operator or admin.")
    level: Level = Field(description="Level of the node: grid, village, township or county.")
    node: str = Field(
        min_length=1,
        description="Cell id (grid), village id, township id, or the county key (county).",
    )

    @model_validator(mode="after")
    def _role_fits_level(self) -> Person:
        if self.level not in ROLE_LEVELS[self.role]:
            allowed = ", ".join(sorted(ROLE_LEVELS[self.role]))
            raise ValueError(f"a {self.role} belongs to level {allowed}, not {self.level}")
        return self


class Shift(BaseModel):
    """Local duty from `start` to `end` on given weekdays or dates; overnight when end <= start."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    person_id: str = Field(min_length=1, description="Whose shift it is.")
    weekdays: tuple[Weekday, ...] = Field(
        (), description="ISO weekdays (1 Monday ... 7 Sunday) the shift starts on."
    )
    dates: tuple[date, ...] = Field((), description="Dates the shift starts on.")
    # An `end` at or before `start` is on the next day, so `start == end` is a 24-hour shift.
    start: time = Field(description="Local start time (Asia/Shanghai), inclusive.")
    end: time = Field(description="Local end time (Asia/Shanghai), exclusive.")

    @field_validator("start", "end")
    @classmethod
    def _wall_clock(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("shift times are local wall-clock times without a UTC offset")
        return value

    @model_validator(mode="after")
    def _one_calendar(self) -> Shift:
        if bool(self.weekdays) == bool(self.dates):
            raise ValueError("a shift lists either weekdays or dates, exactly one of them")
        return self

    @field_validator("weekdays", "dates")
    @classmethod
    def _canonical(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        # Sorted without repeats: equal shifts compare equal and roster files stay stable.
        return tuple(sorted(set(value)))

    @property
    def crosses_midnight(self) -> bool:
        """Whether the shift ends on the day after it starts."""
        return self.end <= self.start

    def starts_on(self, day: date) -> bool:
        """Whether a stretch of this shift begins on `day`."""
        return day in self.dates or day.isoweekday() in self.weekdays

    def covers(self, local: datetime) -> bool:
        """Whether the local wall-clock moment falls inside a stretch of this shift."""
        day, clock = local.date(), local.time()
        if self.crosses_midnight:
            # Today's stretch starts at `start`; yesterday's is still running until `end`.
            yesterday = day - timedelta(days=1)
            return (clock >= self.start and self.starts_on(day)) or (
                clock < self.end and self.starts_on(yesterday)
            )
        return self.start <= clock < self.end and self.starts_on(day)


class Roster(BaseModel):
    """Every shift of every person."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shifts: tuple[Shift, ...] = Field((), description="All shifts, in any order.")

    @cached_property
    def by_person(self) -> dict[str, tuple[Shift, ...]]:
        """Shifts grouped by person id, built once: assignment asks for hundreds of people."""
        grouped: dict[str, list[Shift]] = {}
        for shift in self.shifts:
            grouped.setdefault(shift.person_id, []).append(shift)
        return {k: tuple(v) for k, v in grouped.items()}

    def shifts_of(self, person_id: str) -> tuple[Shift, ...]:
        """The person's shifts, possibly none."""
        return self.by_person.get(person_id, ())


class LastFix(BaseModel):
    """A person's last reported position, WGS-84 (the API converts GCJ-02 from phones)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: float = Field(ge=-90, le=90, description="WGS-84 latitude.")
    lon: float = Field(ge=-180, le=180, description="WGS-84 longitude.")
    accuracy_m: float = Field(ge=0, description="Horizontal accuracy the phone reports, metres.")
    at: AwareDatetime = Field(description="When the phone took the fix.")


class Load(BaseModel):
    """How busy a person is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    open_assignments: int = Field(0, ge=0, description="Incidents assigned and not yet resolved.")


class DutyOverride(BaseModel):
    """ "On duty" or "off duty" pressed on the phone, overriding the roster until `until`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_duty: bool = Field(description="Whether the person says they are on duty.")
    until: AwareDatetime | None = Field(
        None, description="When the roster applies again; null: never."
    )


class RosterDocument(BaseModel):
    """A roster file as `gridwatch people import` reads it: people and their shifts."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["gridwatch.roster/1"] = Field(
        "gridwatch.roster/1", alias="schema", description="Document schema and version."
    )
    note: str = Field("", description="Where the roster came from.")
    county: str = Field(description="The county key the county-level people are attached to.")
    people: tuple[Person, ...] = Field(description="Everyone on the roster.")
    roster: Roster = Field(description="Their shifts.")

    @model_validator(mode="after")
    def _consistent(self) -> RosterDocument:
        ids = [p.id for p in self.people]
        twice = sorted(i for i, n in Counter(ids).items() if n > 1)
        if twice:
            raise ValueError(f"person ids listed more than once: {', '.join(twice[:5])}")
        strangers = sorted({s.person_id for s in self.roster.shifts} - set(ids))
        if strangers:
            raise ValueError(f"shifts of people not listed: {', '.join(strangers[:5])}")
        return self


def on_duty(person: Person, roster: Roster, at: datetime) -> bool:
    """Whether the person is on shift at the aware moment `at`, judged in Asia/Shanghai time."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("`at` must be timezone-aware")
    local = at.astimezone(ZoneInfo(TIMEZONE)).replace(tzinfo=None)
    return any(shift.covers(local) for shift in roster.shifts_of(person.id))


def unknown_nodes(people: Iterable[Person], grid: Grid) -> list[str]:
    """One line per person whose node is not in the grid at their level (empty when all fit)."""
    nodes: dict[str, set[str]] = {
        "grid": {c.id for c in grid.cells},
        "village": {v.id for v in grid.villages()},
        "township": {t.id for t in grid.townships()},
        "county": {grid.county},
    }
    return [
        f"{p.id}: no {p.level} node {p.node!r} in the grid"
        for p in people
        if p.node not in nodes[p.level]
    ]


def duty_now(person: Person, roster: Roster, override: DutyOverride | None, at: datetime) -> bool:
    """Whether the person is on duty at `at`: an override in force wins over the roster."""
    if override is not None and (override.until is None or at < override.until):
        return override.on_duty
    return on_duty(person, roster, at)
