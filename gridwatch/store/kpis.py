"""Figures over stored incidents, their steps and SLA clocks, grouped by nodes given per cell."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from gridwatch.incidents import IncidentKind
from gridwatch.kpis import BUCKET_ORIGIN

# Each figure's population is one CTE; see docs/kpis.md for the definitions.
# The cell → node map comes in as two parallel arrays, so the hierarchy stays in the grid model.
_MAP = """
map AS (
    SELECT * FROM unnest(%(cells)s::text[], %(nodes)s::text[]) AS m(cell_id, node_id)
),
scoped AS NOT MATERIALIZED (
    SELECT i.incident_id, i.opened_at, i.status, m.node_id
    FROM incidents i JOIN map m USING (cell_id) WHERE i.kind = ANY(%(kinds)s)
),
first_accept AS (
    -- Accepts in the window of incidents with none before it: first accepts.
    SELECT s.incident_id, min(s.at) AS at FROM incident_steps s
    WHERE s.action = 'accept' AND s.at >= %(start)s AND s.at < %(end)s AND NOT EXISTS (
        SELECT 1 FROM incident_steps p WHERE p.incident_id = s.incident_id
        AND p.action = 'accept' AND p.at < %(start)s)
    GROUP BY s.incident_id
),
resolves AS (
    -- The resolve clock a resolve step stopped: the newest started at or before it.
    SELECT r.incident_id, r.at, d.due_at
    FROM (SELECT incident_id, min(at) AS at FROM incident_steps
          WHERE action = 'resolve' AND at >= %(start)s AND at < %(end)s
          GROUP BY incident_id) r
    LEFT JOIN LATERAL (
        SELECT due_at FROM incident_deadlines
        WHERE incident_id = r.incident_id AND clock = 'resolve' AND started_at <= r.at
        ORDER BY id DESC LIMIT 1) d ON true
)
"""

# Seconds from detection; a device clock ahead of the server must not give negative times.
_SINCE_DETECTION = "greatest(0, extract(epoch FROM {at} - s.opened_at))"
_ACCEPT_S = _SINCE_DETECTION.format(at="a.at")
_RESOLVE_S = _SINCE_DETECTION.format(at="r.at")

_KPIS = f"""
WITH {_MAP},
opened AS (
    -- Still open now, or ended at or after `to`: the two never overlap, as an end is final.
    -- The status test is written as the partial index incidents_open has it.
    SELECT node_id, count(*) AS open FROM (
        SELECT s.node_id FROM scoped s
        WHERE s.status NOT IN ('closed', 'cancelled') AND s.opened_at < %(end)s
        UNION ALL
        SELECT s.node_id FROM scoped s JOIN incident_steps e USING (incident_id)
        WHERE e.action IN ('close', 'cancel') AND e.at >= %(end)s AND s.opened_at < %(end)s
    ) o GROUP BY node_id
),
detected AS (
    SELECT s.node_id, count(*) AS detected FROM scoped s
    WHERE s.opened_at >= %(start)s AND s.opened_at < %(end)s GROUP BY s.node_id
),
ended AS (
    SELECT s.node_id,
        count(*) FILTER (WHERE e.action = 'close') AS closed,
        count(*) FILTER (WHERE e.action = 'cancel') AS cancelled,
        count(*) FILTER (WHERE e.action = 'escalate') AS escalations
    FROM incident_steps e JOIN scoped s USING (incident_id)
    WHERE e.action IN ('close', 'cancel', 'escalate') AND e.at >= %(start)s AND e.at < %(end)s
    GROUP BY s.node_id
),
accepted AS (
    SELECT s.node_id, count(*) AS accepted,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY {_ACCEPT_S}) AS accept_p50_s,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY {_ACCEPT_S}) AS accept_p90_s
    FROM first_accept a JOIN scoped s USING (incident_id) GROUP BY s.node_id
),
resolved AS (
    SELECT s.node_id, count(*) AS resolved,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY {_RESOLVE_S}) AS resolve_p50_s,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY {_RESOLVE_S}) AS resolve_p90_s,
        count(*) FILTER (WHERE r.due_at IS NOT NULL) AS resolved_with_clock,
        count(*) FILTER (WHERE r.at <= r.due_at) AS resolved_on_time
    FROM resolves r JOIN scoped s USING (incident_id) GROUP BY s.node_id
),
breached AS (
    SELECT s.node_id, count(*) AS breaches
    FROM incident_deadlines d JOIN scoped s USING (incident_id)
    WHERE d.due_at >= %(start)s AND d.due_at < least(%(end)s, %(now)s)
        AND (d.done_at IS NULL OR d.done_at > d.due_at)
    GROUP BY s.node_id
)
SELECT node_id,
    coalesce(open, 0) AS open, coalesce(detected, 0) AS detected,
    coalesce(closed, 0) AS closed, coalesce(cancelled, 0) AS cancelled,
    coalesce(accepted, 0) AS accepted, accept_p50_s, accept_p90_s,
    coalesce(resolved, 0) AS resolved, resolve_p50_s, resolve_p90_s,
    coalesce(resolved_with_clock, 0) AS resolved_with_clock,
    coalesce(resolved_on_time, 0) AS resolved_on_time,
    coalesce(breaches, 0) AS breaches, coalesce(escalations, 0) AS escalations
FROM (SELECT DISTINCT node_id FROM map) n
    LEFT JOIN opened USING (node_id) LEFT JOIN detected USING (node_id)
    LEFT JOIN ended USING (node_id) LEFT JOIN accepted USING (node_id)
    LEFT JOIN resolved USING (node_id) LEFT JOIN breached USING (node_id)
ORDER BY node_id
"""

_SERIES = f"""
WITH {_MAP},
detected AS (
    SELECT s.node_id, date_bin(%(size)s, s.opened_at, %(origin)s) AS start, count(*) AS detected
    FROM scoped s WHERE s.opened_at >= %(start)s AND s.opened_at < %(end)s GROUP BY 1, 2
),
closed AS (
    SELECT s.node_id, date_bin(%(size)s, e.at, %(origin)s) AS start, count(*) AS closed
    FROM incident_steps e JOIN scoped s USING (incident_id)
    WHERE e.action = 'close' AND e.at >= %(start)s AND e.at < %(end)s GROUP BY 1, 2
),
resolved AS (
    SELECT s.node_id, date_bin(%(size)s, r.at, %(origin)s) AS start, count(*) AS resolved,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY {_RESOLVE_S}) AS resolve_p50_s
    FROM resolves r JOIN scoped s USING (incident_id) GROUP BY 1, 2
)
SELECT node_id, start, coalesce(detected, 0) AS detected, coalesce(closed, 0) AS closed,
    coalesce(resolved, 0) AS resolved, resolve_p50_s
FROM detected FULL JOIN closed USING (node_id, start) FULL JOIN resolved USING (node_id, start)
ORDER BY node_id, start
"""


async def _rows(
    conn: psycopg.AsyncConnection,
    query: str,
    cell_node: Mapping[str, str],
    kinds: Collection[IncidentKind],
    window: tuple[datetime, datetime],
    **extra: Any,
) -> list[dict[str, Any]]:
    start, end = window
    params = {"cells": list(cell_node), "nodes": list(cell_node.values()), "kinds": list(kinds)}
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        # The planner's estimates for these statements cross the JIT threshold, and compiling
        # took over 4 s of a 4.6 s run on a year of a county's incidents: the work is cheaper.
        await cur.execute("SET LOCAL jit = off")
        await cur.execute(query.encode(), params | {"start": start, "end": end} | extra)
        return await cur.fetchall()


async def node_kpis(
    conn: psycopg.AsyncConnection,
    *,
    cell_node: Mapping[str, str],
    kinds: Collection[IncidentKind],
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[dict[str, Any]]:
    """One row of figures per node that `cell_node` maps a cell to, over [start, end)."""
    return await _rows(conn, _KPIS, cell_node, kinds, (start, end), now=now)


async def node_series(
    conn: psycopg.AsyncConnection,
    *,
    cell_node: Mapping[str, str],
    kinds: Collection[IncidentKind],
    start: datetime,
    end: datetime,
    size: timedelta,
) -> list[dict[str, Any]]:
    """Per node and bucket of `size` with something in it: detected, closed, resolved."""
    window = (start, end)
    return await _rows(conn, _SERIES, cell_node, kinds, window, size=size, origin=BUCKET_ORIGIN)
