"""Wire models of roster changes: a person and their shifts, as an operator sends them."""

from __future__ import annotations

from datetime import date, time
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gridwatch.people import Level, Person, Role, Shift, Weekday

M = TypeVar("M", bound=BaseModel)


class ShiftHours(BaseModel):
    """A shift of the person the path names: weekdays or dates, local start and end."""

    model_config = ConfigDict(extra="forbid")

    weekdays: tuple[Weekday, ...] = Field((), description="ISO weekdays (1 Monday ... 7 Sunday).")
    dates: tuple[date, ...] = Field((), description="Dates the shift starts on.")
    start: time = Field(description="Local start time (Asia/Shanghai), inclusive.")
    end: time = Field(description="Local end time (Asia/Shanghai), exclusive; <= start: next day.")


class PersonPut(BaseModel):
    """Everything about a person but the id (the path's): replaces what is stored."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Display name.")
    phone: str | None = Field(None, description="Phone number for SMS or voice, if any.")
    role: Role = Field(description="worker, mediator, supervisor, operator or admin.")
    level: Level = Field(description="grid, village, township or county.")
    node: str = Field(description="Cell, village or township id, or the county key, by level.")
    shifts: list[ShiftHours] = Field([], description="All their shifts; none: never on shift.")

    def entry(self, person_id: str) -> tuple[Person, tuple[Shift, ...]]:
        """The person and shifts as the roster import models them; 422 where a rule breaks."""
        person = _checked(Person, (), {"id": person_id, **self.model_dump(exclude={"shifts"})})
        shifts = tuple(
            _checked(Shift, ("shifts", n), {"person_id": person_id, **s.model_dump()})
            for n, s in enumerate(self.shifts)
        )
        return person, shifts


def _checked(model: type[M], where: tuple[str | int, ...], data: Any) -> M:
    """`model` built from `data`; a RequestValidationError located in the body otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *where, *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None
