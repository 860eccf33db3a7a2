"""KPIs per node of the hierarchy and their series over time, for supervisors and the console."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query

from api.deps import ConnDep, CurrentUser, GridDep
from api.errors import ApiError
from api.kpi_schemas import KpiPage, NodeKpis, NodeSeries, SeriesPage, SeriesPoint
from gridwatch.incidents import IncidentKind
from gridwatch.kpis import (
    BUCKET_SIZE,
    Bucket,
    KpiLevel,
    KpiQueryError,
    Node,
    bucket_starts,
    fill,
    grouping,
    share,
    window,
)
from gridwatch.store.kpis import node_kpis, node_series

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])

FromQuery = Annotated[
    datetime | None,
    Query(alias="from", description="Window start, with offset; default: 30 days before `to`."),
]
ToQuery = Annotated[
    datetime | None, Query(alias="to", description="Window end (exclusive); default: now.")
]
KindQuery = Annotated[
    IncidentKind | None, Query(description="Only incidents of this kind; default: every kind.")
]
TownshipQuery = Annotated[
    str | None, Query(description="Only nodes in this township (not with level=county).")
]


@contextmanager
def refusals() -> Iterator[None]:
    """Turn a figures request that cannot be answered into the API's one error shape."""
    try:
        yield
    except KpiQueryError as exc:
        raise ApiError(exc.status, exc.code, exc.msg) from None


def kinds(kind: IncidentKind | None) -> tuple[IncidentKind, ...]:
    """The kinds of incident counted: the one asked for, or all."""
    return get_args(IncidentKind) if kind is None else (kind,)


def seconds(value: float | None) -> float | None:
    """A duration from SQL, to a tenth of a second."""
    return None if value is None else round(value, 1)


def node_kpis_read(node: Node, row: dict[str, Any]) -> NodeKpis:
    """The wire form of one node's figures row."""
    return NodeKpis(
        node_id=node.id,
        name=node.name,
        township_id=node.township_id,
        township_name=node.township_name,
        **{k: row[k] for k in ("open", "detected", "closed", "cancelled", "accepted", "resolved")},
        **{k: seconds(row[k]) for k in ("accept_p50_s", "accept_p90_s")},
        **{k: seconds(row[k]) for k in ("resolve_p50_s", "resolve_p90_s")},
        resolved_on_time=row["resolved_on_time"],
        resolved_on_time_share=share(row["resolved_on_time"], row["resolved_with_clock"]),
        breaches=row["breaches"],
        escalations=row["escalations"],
    )


@router.get("", response_model=KpiPage, summary="KPIs per node of one level")
async def read_kpis(
    conn: ConnDep,
    grid: GridDep,
    user: CurrentUser,
    level: Annotated[KpiLevel, Query(description="cell, village, township or county.")],
    start: FromQuery = None,
    end: ToQuery = None,
    township: TownshipQuery = None,
    kind: KindQuery = None,
) -> KpiPage:
    """Open, detected, handled, times to accept and resolve, SLA breaches: one row per node."""
    with refusals():
        scope = grouping(grid, role=user.role, node=user.node, level=level, township=township)
        start, end = window(start, end, now=datetime.now(UTC))
    rows = await node_kpis(
        conn,
        cell_node=scope.cell_node,
        kinds=kinds(kind),
        start=start,
        end=end,
        now=datetime.now(UTC),
    )
    by_node = {row["node_id"]: row for row in rows}
    return KpiPage(
        level=level,
        township=township,
        kind=kind,
        from_=start,
        to=end,
        nodes=[node_kpis_read(node, by_node[node.id]) for node in scope.nodes],
    )


_NO_POINT = {"detected": 0, "closed": 0, "resolved": 0, "resolve_p50_s": None}


@router.get("/series", response_model=SeriesPage, summary="KPIs per node and time bucket")
async def read_series(
    conn: ConnDep,
    grid: GridDep,
    user: CurrentUser,
    level: Annotated[KpiLevel, Query(description="cell, village, township or county.")] = (
        "township"
    ),
    bucket: Annotated[Bucket, Query(description="hour or day (county local time).")] = "day",
    start: FromQuery = None,
    end: ToQuery = None,
    township: TownshipQuery = None,
    kind: KindQuery = None,
) -> SeriesPage:
    """Incidents detected and closed, and the median time to resolve, per node and bucket."""
    with refusals():
        scope = grouping(grid, role=user.role, node=user.node, level=level, township=township)
        start, end = window(start, end, now=datetime.now(UTC))
        starts = bucket_starts(start, end, bucket)
    rows = await node_series(
        conn,
        cell_node=scope.cell_node,
        kinds=kinds(kind),
        start=start,
        end=end,
        size=BUCKET_SIZE[bucket],
    )
    found: dict[str, dict[datetime, dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["node_id"], {})[row["start"]] = row
    nodes = [
        NodeSeries(
            node_id=node.id,
            name=node.name,
            points=[
                SeriesPoint(
                    start=at,
                    detected=row["detected"],
                    closed=row["closed"],
                    resolved=row["resolved"],
                    resolve_p50_s=seconds(row["resolve_p50_s"]),
                )
                for at, row in fill(starts, found.get(node.id, {}), _NO_POINT)
            ],
        )
        for node in scope.nodes
    ]
    return SeriesPage(
        level=level,
        bucket=bucket,
        township=township,
        kind=kind,
        from_=start,
        to=end,
        starts=starts,
        nodes=nodes,
    )
