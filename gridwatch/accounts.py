"""Accounts that sign in to the API, and the arithmetic of throttling failed logins."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from gridwatch.people import Role

MIN_PASSWORD_LENGTH = 10


class User(BaseModel):
    """An account: who signs in, with which role, attached to which node of the grid."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="Stable account id.")
    username: str = Field(min_length=1, description="Login name.")
    display_name: str = Field(min_length=1, description="Name shown to others.")
    role: Role = Field(description="worker, mediator, supervisor, operator or admin.")
    node: str = Field(
        min_length=1, description="Grid-hierarchy node: cell, village, township or county id."
    )
    person_id: str | None = Field(None, description="The roster person this account is, if any.")
    active: bool = Field(True, description="Whether the account may sign in.")


def retry_after(
    failures: Iterable[datetime], *, now: datetime, max_failures: int, window: timedelta
) -> int | None:
    """Whole seconds until one more attempt is allowed; None while fewer than the maximum failed."""
    recent = sorted(at for at in failures if at > now - window)
    if len(recent) < max_failures:
        return None
    # One more attempt is allowed once the failure that made the count reach the maximum
    # leaves the window.
    frees_at = recent[-max_failures] + window
    return max(1, math.ceil((frees_at - now).total_seconds()))
