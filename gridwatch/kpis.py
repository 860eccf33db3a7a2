"""Figures over stored incidents: whose cells a caller may count, grouped how, over which window."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from gridwatch.grid.model import Cell, Grid
from gridwatch.people import TIMEZONE, Role

KpiLevel = Literal["cell", "village", "township", "county"]
Bucket = Literal["hour", "day"]

# Lowest first: a caller may count at their own node's level and below.
LEVEL_ORDER: tuple[KpiLevel, ...] = ("cell", "village", "township", "county")
BUCKET_SIZE: Mapping[Bucket, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
# Buckets start at the county's local midnight (and on its local hours), not UTC's.
LOCAL = ZoneInfo(TIMEZONE)
BUCKET_ORIGIN = datetime(2000, 1, 3, tzinfo=LOCAL)
DEFAULT_WINDOW = timedelta(days=30)
# Times a window may name: the arithmetic on local buckets and defaults stays in range.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
# A chart of more points than this is unreadable, and the query gets long.
MAX_BUCKETS = 2000
_ALL_CELLS: frozenset[Role] = frozenset({"operator", "admin"})

T = TypeVar("T")


class KpiQueryError(ValueError):
    """A request for figures that cannot be answered: an HTTP status, a code and a message."""

    def __init__(self, status: int, code: str, msg: str) -> None:
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg


@dataclass(frozen=True)
class Node:
    """One node of the hierarchy that figures are grouped by."""

    id: str
    name: str
    level: KpiLevel
    township_id: str | None
    township_name: str | None


@dataclass(frozen=True)
class Grouping:
    """Which node each counted cell belongs to, and those nodes in id order."""

    level: KpiLevel
    cell_node: Mapping[str, str]
    nodes: tuple[Node, ...]


def node_of(cell: Cell, level: KpiLevel, grid: Grid) -> Node:
    """The node of `level` that holds `cell`."""
    match level:
        case "cell":
            return Node(cell.id, cell.id, level, cell.township_id, cell.township_name)
        case "village":
            town = (cell.township_id, cell.township_name)
            return Node(cell.village_id, cell.village_name, level, *town)
        case "township":
            town = (cell.township_id, cell.township_name)
            return Node(cell.township_id, cell.township_name, level, *town)
        case "county":
            return Node(grid.county, str(grid.meta.get("county") or grid.county), level, None, None)


def level_of_node(grid: Grid, node_id: str) -> KpiLevel | None:
    """The level of a node id of the grid's hierarchy; None for an id it does not know."""
    if node_id == grid.county:
        return "county"
    if any(t.id == node_id for t in grid.townships()):
        return "township"
    if any(v.id == node_id for v in grid.villages()):
        return "village"
    return "cell" if grid.get(node_id) is not None else None


def grouping(
    grid: Grid, *, role: Role, node: str, level: KpiLevel, township: str | None
) -> Grouping:
    """The cells a caller may count at `level`, optionally within one township, by node.

    Operators and admins count every cell; a supervisor the subtree of their node, at its
    level or below; every other role nothing.
    """
    if township is not None and level == "county":
        msg = "township= narrows the nodes to one township; it cannot be used with level=county"
        raise KpiQueryError(422, "invalid_filter", msg)
    if township is not None and level_of_node(grid, township) != "township":
        raise KpiQueryError(422, "unknown_township", f"no township has id {township!r}")
    cells = (
        grid.cells if role in _ALL_CELLS else _supervised(grid, role=role, node=node, level=level)
    )
    if township is not None:
        cells = tuple(c for c in cells if c.township_id == township)
        if not cells:
            msg = f"township {township!r} is outside your area ({node})"
            raise KpiQueryError(403, "outside_your_area", msg)
    by_cell = {c.id: node_of(c, level, grid) for c in cells}
    nodes = {n.id: n for n in by_cell.values()}
    return Grouping(
        level=level,
        cell_node={cell: n.id for cell, n in by_cell.items()},
        nodes=tuple(nodes[k] for k in sorted(nodes)),
    )


def _supervised(grid: Grid, *, role: Role, node: str, level: KpiLevel) -> tuple[Cell, ...]:
    if role != "supervisor":
        msg = f"figures are for supervisors, operators and admins; you are a {role}"
        raise KpiQueryError(403, "forbidden", msg)
    own = level_of_node(grid, node)
    if own is None:
        msg = f"your account's node {node!r} is not in the grid; ask an operator"
        raise KpiQueryError(403, "outside_your_area", msg)
    if LEVEL_ORDER.index(level) > LEVEL_ORDER.index(own):
        msg = f"you supervise {own} {node}: ask for level {own} or below, not {level}"
        raise KpiQueryError(403, "outside_your_area", msg)
    return grid.cells_under(node)


MAX_WINDOW = timedelta(days=366)


def window(
    start: datetime | None, end: datetime | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """The half-open window [start, end): `end` defaults to now, `start` to 30 days before it."""
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.utcoffset() is None:
            msg = f"{name} must carry a UTC offset, e.g. 2026-11-28T00:00:00+08:00"
            raise KpiQueryError(422, "invalid_time", msg)
        if value is not None and not EARLIEST <= value < LATEST:
            msg = f"{name} must lie in the years {EARLIEST.year} to {LATEST.year - 1}"
            raise KpiQueryError(422, "invalid_time", msg)
    end = now if end is None else end
    start = end - DEFAULT_WINDOW if start is None else start
    if start >= end:
        msg = f"from ({start.isoformat()}) must be before to ({end.isoformat()})"
        raise KpiQueryError(422, "invalid_window", msg)
    if end - start > MAX_WINDOW:
        # Each request reads every incident of its window, and the public page needs no
        # sign-in: a bound keeps one caller from tying up the database.
        msg = f"a window is at most {MAX_WINDOW.days} days (asked: {(end - start).days})"
        raise KpiQueryError(422, "window_too_long", msg)
    return start, end


def bucket_floor(at: datetime, bucket: Bucket) -> datetime:
    """The start of the bucket holding `at`, as PostgreSQL's date_bin gives it."""
    size = BUCKET_SIZE[bucket]
    return BUCKET_ORIGIN + ((at - BUCKET_ORIGIN) // size) * size


def bucket_starts(start: datetime, end: datetime, bucket: Bucket) -> list[datetime]:
    """The starts of the buckets that meet [start, end), oldest first."""
    size = BUCKET_SIZE[bucket]
    first = bucket_floor(start, bucket)
    count = -((first - end) // size)  # ceiling division: the last bucket may stick out
    if count > MAX_BUCKETS:
        msg = f"{count} {bucket} buckets asked for; at most {MAX_BUCKETS}: shorten the window"
        raise KpiQueryError(422, "too_many_buckets", msg)
    return [first + i * size for i in range(count)]


def share(part: int, whole: int) -> float | None:
    """part / whole rounded to 4 places; None when there is no whole."""
    return round(part / whole, 4) if whole else None


def fill(
    starts: Iterable[datetime], found: Mapping[datetime, T], empty: T
) -> list[tuple[datetime, T]]:
    """One entry per bucket start: what was found there, else `empty`."""
    return [(s, found.get(s, empty)) for s in starts]
