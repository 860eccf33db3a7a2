"""Where an overdue incident escalates to: the nearest level with people, else the operators."""

from __future__ import annotations

import pytest

from alerts.commands import LEVELS
from alerts.escalation import Target, escalation_target, levels_above
from gridwatch.people import Level

ABOVE_GRID: list[Level] = ["village", "township", "county"]


@pytest.mark.parametrize(
    ("current", "above"),
    [
        ("grid", ["village", "township", "county"]),
        ("village", ["township", "county"]),
        ("township", ["county"]),
        ("county", []),
    ],
)
def test_levels_above_climb_the_ladder_nearest_first(current: Level, above: list[Level]) -> None:
    assert levels_above(current, LEVELS) == above


def test_a_ladder_without_villages_skips_them() -> None:
    assert levels_above("grid", ("grid", "township", "county")) == ["township", "county"]


def test_the_next_level_with_people_is_chosen() -> None:
    accounts: dict[Level, list[str]] = {"village": ["u-v"], "township": ["u-t"], "county": ["u-c"]}
    assert escalation_target(ABOVE_GRID, accounts, ["u-op"]) == Target("village", ("u-v",))


def test_an_empty_level_is_skipped() -> None:
    accounts: dict[Level, list[str]] = {"village": [], "township": ["u-t1", "u-t2"]}
    assert escalation_target(ABOVE_GRID, accounts, ["u-op"]) == Target("township", ("u-t1", "u-t2"))


def test_with_nobody_above_the_operators_get_it_at_the_top() -> None:
    empty: dict[Level, list[str]] = {"village": [], "township": [], "county": []}
    assert escalation_target(ABOVE_GRID, empty, ["u-op"]) == Target("county", ("u-op",))
    assert escalation_target(["township"], {}, ["u-op"]) == Target("township", ("u-op",))


def test_with_nobody_at_all_there_is_no_escalation() -> None:
    assert escalation_target(ABOVE_GRID, {}, []) is None


def test_at_the_top_nothing_escalates_even_with_operators() -> None:
    assert escalation_target([], {}, ["u-op"]) is None
