"""Where an overdue incident goes: the first level above it with somebody to tell."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alerts.sla import escalation_level
from gridwatch.people import Level


@dataclass(frozen=True)
class Target:
    """The level an escalation goes to and the accounts it names."""

    level: Level
    accounts: tuple[str, ...]


def levels_above(current: Level, ladder: Sequence[Level]) -> list[Level]:
    """The ladder's levels above `current`, nearest first."""
    above: list[Level] = []
    level = escalation_level(current, ladder)
    while level is not None:
        above.append(level)
        level = escalation_level(level, ladder)
    return above


def escalation_target(
    above: Sequence[Level], accounts_at: Mapping[Level, Sequence[str]], operators: Sequence[str]
) -> Target | None:
    """The nearest level of `above` with accounts; else the operators at the top; else None."""
    for level in above:
        if accounts_at.get(level):
            return Target(level, tuple(accounts_at[level]))
    # Nobody answers at any level above: the operators watch the whole county.
    if above and operators:
        return Target(above[-1], tuple(operators))
    return None
