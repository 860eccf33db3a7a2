"""Open incidents of every cell (or one) with their running clock and people: the desk view."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import psycopg
from psycopg.rows import dict_row

from gridwatch.store.cases import OPEN_STATUSES

# Most severe first, then the soonest due (incidents without a clock yet after those with
# one), then the oldest: the order in which a desk should look at them.
_OPEN = """
SELECT i.incident_id, i.cell_id, i.kind, i.category, i.severity, i.status, i.level,
       i.detector, i.opened_at, i.last_evidence_at, i.evidence_count, i.lon, i.lat,
       i.summary, i.cleared_at, i.created_at, i.updated_at,
       clock.clock, clock.level AS clock_level, clock.due_at,
       ARRAY(SELECT a.assignee_id FROM incident_assignees a
             WHERE a.incident_id = i.incident_id AND a.active
             ORDER BY a.assigned_at, a.assignee_id) AS assignees
FROM incidents i
LEFT JOIN incident_deadlines clock
       ON clock.incident_id = i.incident_id AND clock.done_at IS NULL
WHERE i.status = ANY(%(open)s)
  AND (%(all_cells)s OR i.cell_id = ANY(%(cells)s))
  AND (%(kind)s::text IS NULL OR i.kind = %(kind)s)
ORDER BY i.severity DESC, clock.due_at ASC NULLS LAST, i.opened_at, i.incident_id
LIMIT %(limit)s
"""


async def list_open(
    conn: psycopg.AsyncConnection,
    *,
    cells: Collection[str] | None,
    limit: int,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """Open incidents (not closed, not cancelled) of some cells (None: all), of one kind."""
    args = {
        "open": list(OPEN_STATUSES),
        "all_cells": cells is None,
        "cells": list(cells or ()),
        "kind": kind,
        "limit": limit,
    }
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_OPEN, args)
        return await cur.fetchall()
