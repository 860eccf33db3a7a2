"""Figures' pure parts: whose cells a caller counts, grouped how, windows and local buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridwatch.kpis import (
    MAX_BUCKETS,
    KpiLevel,
    KpiQueryError,
    bucket_floor,
    bucket_starts,
    fill,
    grouping,
    level_of_node,
    share,
    window,
)
from gridwatch.people import Role
from tests.unit.test_assignment import GRID

# a1, a2: village V1; a3: village V2; all township T1. b1: village V3 of township T2.
LOCAL = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def refused(exc: pytest.ExceptionInfo[KpiQueryError]) -> tuple[int, str]:
    return exc.value.status, exc.value.code


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("cell", {"a1": "a1", "a2": "a2", "a3": "a3", "b1": "b1"}),
        ("village", {"a1": "V1", "a2": "V1", "a3": "V2", "b1": "V3"}),
        ("township", {"a1": "T1", "a2": "T1", "a3": "T1", "b1": "T2"}),
        ("county", {"a1": "410523", "a2": "410523", "a3": "410523", "b1": "410523"}),
    ],
)
def test_operators_count_every_cell_grouped_by_the_level(
    level: KpiLevel, expected: dict[str, str]
) -> None:
    found = grouping(GRID, role="operator", node="410523", level=level, township=None)
    assert dict(found.cell_node) == expected
    assert [n.id for n in found.nodes] == sorted(set(expected.values()))


def test_nodes_carry_their_names_and_township() -> None:
    villages = grouping(GRID, role="admin", node="410523", level="village", township=None).nodes
    v3 = villages[-1]
    assert (v3.id, v3.name, v3.level, v3.township_id, v3.township_name) == (
        "V3",
        "V3",
        "village",
        "T2",
        "T2",
    )
    (county,) = grouping(GRID, role="admin", node="410523", level="county", township=None).nodes
    assert (county.id, county.township_id) == ("410523", None)


def test_a_township_filter_keeps_that_townships_cells() -> None:
    found = grouping(GRID, role="operator", node="410523", level="village", township="T1")
    assert dict(found.cell_node) == {"a1": "V1", "a2": "V1", "a3": "V2"}


@pytest.mark.parametrize(
    ("node", "level", "cells"),
    [
        ("V1", "village", {"a1", "a2"}),
        ("V1", "cell", {"a1", "a2"}),
        ("T1", "township", {"a1", "a2", "a3"}),
        ("T1", "village", {"a1", "a2", "a3"}),
        ("410523", "township", {"a1", "a2", "a3", "b1"}),
    ],
)
def test_a_supervisor_counts_their_subtree_at_their_level_or_below(
    node: str, level: KpiLevel, cells: set[str]
) -> None:
    found = grouping(GRID, role="supervisor", node=node, level=level, township=None)
    assert set(found.cell_node) == cells


@pytest.mark.parametrize(
    ("node", "level"), [("V1", "township"), ("T1", "county"), ("a1", "village")]
)
def test_a_supervisor_cannot_look_above_their_node(node: str, level: KpiLevel) -> None:
    with pytest.raises(KpiQueryError) as exc:
        grouping(GRID, role="supervisor", node=node, level=level, township=None)
    assert refused(exc) == (403, "outside_your_area")
    assert f"ask for level {level_of_node(GRID, node)} or below" in exc.value.msg


def test_a_supervisor_cannot_filter_on_another_township() -> None:
    with pytest.raises(KpiQueryError) as exc:
        grouping(GRID, role="supervisor", node="T1", level="village", township="T2")
    assert refused(exc) == (403, "outside_your_area")
    mine = grouping(GRID, role="supervisor", node="V1", level="cell", township="T1")
    assert set(mine.cell_node) == {"a1", "a2"}


def test_a_supervisor_on_a_node_outside_the_grid_sees_nothing() -> None:
    with pytest.raises(KpiQueryError) as exc:
        grouping(GRID, role="supervisor", node="elsewhere", level="cell", township=None)
    assert refused(exc) == (403, "outside_your_area")


@pytest.mark.parametrize("role", ["worker", "mediator"])
def test_field_roles_get_no_figures(role: Role) -> None:
    with pytest.raises(KpiQueryError) as exc:
        grouping(GRID, role=role, node="V1", level="cell", township=None)
    assert refused(exc) == (403, "forbidden")


@pytest.mark.parametrize(
    ("level", "township", "code"),
    [
        ("village", "T9", "unknown_township"),
        ("village", "V1", "unknown_township"),
        ("county", "T1", "invalid_filter"),
    ],
)
def test_bad_filters_are_named(level: KpiLevel, township: str, code: str) -> None:
    with pytest.raises(KpiQueryError) as exc:
        grouping(GRID, role="operator", node="410523", level=level, township=township)
    assert refused(exc) == (422, code)


def test_levels_of_nodes() -> None:
    found = {n: level_of_node(GRID, n) for n in ("410523", "T2", "V3", "b1", "x")}
    assert found == {"410523": "county", "T2": "township", "V3": "village", "b1": "cell", "x": None}


def test_the_window_defaults_to_the_last_30_days() -> None:
    assert window(None, None, now=NOW) == (NOW - timedelta(days=30), NOW)
    end = datetime(2026, 1, 1, tzinfo=UTC)
    assert window(None, end, now=NOW) == (end - timedelta(days=30), end)


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (NOW, NOW, "invalid_window"),
        (NOW + timedelta(seconds=1), NOW, "invalid_window"),
        (datetime(2026, 11, 1), None, "invalid_time"),
        (None, datetime(2026, 11, 1), "invalid_time"),
        (datetime(1, 1, 1, tzinfo=UTC), None, "invalid_time"),
        (None, datetime(9999, 12, 31, 23, tzinfo=UTC), "invalid_time"),
        (NOW - timedelta(days=367), NOW, "window_too_long"),
    ],
)
def test_bad_windows_are_refused(start: datetime | None, end: datetime | None, code: str) -> None:
    with pytest.raises(KpiQueryError) as exc:
        window(start, end, now=NOW)
    assert refused(exc) == (422, code)


def test_days_start_at_the_countys_midnight() -> None:
    # 15:30 UTC on the 27th is 23:30 local; 16:00 UTC is already the 28th there.
    assert bucket_floor(datetime(2026, 11, 27, 15, 30, tzinfo=UTC), "day") == datetime(
        2026, 11, 27, tzinfo=LOCAL
    )
    assert bucket_floor(datetime(2026, 11, 27, 16, 0, tzinfo=UTC), "day") == datetime(
        2026, 11, 28, tzinfo=LOCAL
    )
    assert bucket_floor(datetime(2026, 11, 27, 16, 59, 59, tzinfo=UTC), "hour") == datetime(
        2026, 11, 28, 0, tzinfo=LOCAL
    )


def test_bucket_starts_cover_the_window() -> None:
    start = datetime(2026, 11, 27, 22, 30, tzinfo=LOCAL)
    hours = bucket_starts(start, start + timedelta(hours=2), "hour")
    assert hours == [datetime(2026, 11, 27, h, tzinfo=LOCAL) for h in (22, 23)] + [
        datetime(2026, 11, 28, 0, tzinfo=LOCAL)
    ]
    exact = bucket_starts(
        datetime(2026, 11, 28, tzinfo=LOCAL), datetime(2026, 11, 30, tzinfo=LOCAL), "day"
    )
    assert exact == [datetime(2026, 11, 28, tzinfo=LOCAL), datetime(2026, 11, 29, tzinfo=LOCAL)]
    assert all(s.utcoffset() == timedelta(hours=8) for s in exact)


def test_too_many_buckets_are_refused() -> None:
    start = datetime(2026, 1, 1, tzinfo=LOCAL)
    assert len(bucket_starts(start, start + timedelta(hours=MAX_BUCKETS), "hour")) == MAX_BUCKETS
    with pytest.raises(KpiQueryError) as exc:
        bucket_starts(start, start + timedelta(hours=MAX_BUCKETS, seconds=1), "hour")
    assert refused(exc) == (422, "too_many_buckets")


def test_share_and_fill() -> None:
    assert (share(1, 3), share(0, 4), share(0, 0)) == (0.3333, 0.0, None)
    day1, day2 = datetime(2026, 11, 28, tzinfo=LOCAL), datetime(2026, 11, 29, tzinfo=LOCAL)
    # A row from PostgreSQL comes back in UTC: the same instant finds its bucket.
    found = {day2.astimezone(UTC): 5}
    assert fill([day1, day2], found, 0) == [(day1, 0), (day2, 5)]
