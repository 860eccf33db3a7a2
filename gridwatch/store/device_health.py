"""Devices heard lately or flagged silent, with their newest event and open no-signal flag."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

# Devices are those with an event since `since`, or on an open no-signal incident. For
# each: its newest event by arrival (kept by the event writer in device_last_heard) and its
# newest evidence on a no-signal incident that is neither cleared nor ended.
_DEVICES = """
WITH last AS (
    SELECT device_id, type, cell_id, lon, lat, time AS last_time,
           received_at AS last_received_at
    FROM device_last_heard WHERE received_at >= %(since)s
),
flags AS (
    SELECT DISTINCT ON (e.device_id)
           e.device_id, e.type AS flag, e.time AS flagged_at, i.incident_id,
           i.cell_id AS flag_cell_id, e.lon AS flag_lon, e.lat AS flag_lat
    FROM incident_evidence e JOIN incidents i USING (incident_id)
    WHERE i.category = 'no_signal' AND i.cleared_at IS NULL
      AND i.status NOT IN ('closed', 'cancelled')
    ORDER BY e.device_id, e.time DESC
)
SELECT device_id,
       split_part(last.type, '.', 1) AS source_kind, last.type AS last_type,
       COALESCE(last.cell_id, flags.flag_cell_id) AS cell_id,
       COALESCE(last.lon, flags.flag_lon) AS lon,
       COALESCE(last.lat, flags.flag_lat) AS lat,
       last.last_time, last.last_received_at,
       flags.flag, flags.flagged_at, flags.incident_id
FROM last FULL JOIN flags USING (device_id)
ORDER BY device_id
LIMIT %(limit)s
"""


async def list_devices(
    conn: psycopg.AsyncConnection, *, since: datetime, limit: int
) -> list[dict[str, Any]]:
    """One row per device heard since `since` or flagged silent now, by device id."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_DEVICES, {"since": since, "limit": limit})
        return await cur.fetchall()
