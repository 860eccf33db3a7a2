"""Air readings of Blue Sky stations from the raw-event series, averaged per time bucket."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, get_args

import psycopg
from psycopg.rows import dict_row

from gridwatch.kpis import BUCKET_ORIGIN
from streams.detectors.aqi import Pollutant

AIR_TYPE = "blue-sky.air"
POLLUTANTS: tuple[Pollutant, ...] = get_args(Pollutant)
# avg() skips readings without the pollutant, so each mean is over the readings that had it.
_MEANS = ", ".join(f"avg((data->>'{p}')::float8) AS {p}" for p in POLLUTANTS)


async def has_air(conn: psycopg.AsyncConnection, device_id: str) -> bool:
    """Whether the device ever sent an air reading."""
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM events WHERE device_id = %s AND type = %s)",
        (device_id, AIR_TYPE),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def air_means(
    conn: psycopg.AsyncConnection,
    device_id: str,
    *,
    start: datetime,
    end: datetime,
    size: timedelta,
) -> list[dict[str, Any]]:
    """Per bucket with readings in [start, end): start, count, means, the newest reading's cell."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT date_bin(%(size)s, time, %(origin)s) AS start, count(*) AS readings,"
            f" (array_agg(cell_id ORDER BY time DESC))[1] AS cell_id, {_MEANS}"
            " FROM events WHERE device_id = %(device)s AND type = %(type)s"
            " AND time >= %(start)s AND time < %(end)s GROUP BY 1 ORDER BY 1".encode(),
            {
                "size": size,
                "origin": BUCKET_ORIGIN,
                "device": device_id,
                "type": AIR_TYPE,
                "start": start,
                "end": end,
            },
        )
        return await cur.fetchall()
