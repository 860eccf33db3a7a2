"""Device feedback rows: adjustments and incident endings from the streams, reads for the API.

The false-alarm rate of a device over a period is
    (incidents it gave evidence to in the period that a person cancelled as a false alarm
     naming the device) / (distinct incidents it gave evidence to in the period),
where "in the period" means at least one of its evidence events is at or after `since`
(default: all time). Counting false alarms only among those incidents keeps the rate
between 0 and 1; it is None for a device that took part in no incident.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from gridwatch.devices import DeviceAdjusted
from gridwatch.incidents import IncidentEnded
from gridwatch.store.upsert import newest_wins

_ADJUSTMENT_COLUMNS = "device_id cell_id extra_confirmations until false_alarms reason at"
_UPSERT_ADJUSTMENT = newest_wins("device_adjustments", _ADJUSTMENT_COLUMNS, newest="at")
# An incident ends once; should a later ending of it come (reopened, then closed), it wins.
_UPSERT_ENDING = newest_wins(
    "incident_endings",
    "incident_id cell_id category outcome false_alarm reason devices ended_at",
    newest="ended_at",
)


def record_adjustments(conn: psycopg.Connection, adjusted: Sequence[DeviceAdjusted]) -> None:
    """Upsert each device's latest adjustment; the caller owns the transaction."""
    if adjusted:
        with conn.cursor() as cur:
            cur.executemany(_UPSERT_ADJUSTMENT, [a.model_dump() for a in adjusted])


def record_endings(conn: psycopg.Connection, ended: Sequence[IncidentEnded]) -> None:
    """Upsert how people ended incidents; the caller owns the transaction."""
    if ended:
        with conn.cursor() as cur:
            cur.executemany(_UPSERT_ENDING, [e.model_dump() for e in ended])
            # Until the dispatch lifecycle owns status, an ending is what takes an incident
            # out of its cell's open queue.
            cur.execute(
                "UPDATE incidents i SET status = e.outcome, updated_at = now()"
                " FROM incident_endings e WHERE e.incident_id = i.incident_id"
                " AND i.incident_id = ANY(%s) AND i.status <> e.outcome",
                ([e.incident_id for e in ended],),
            )


_COLUMNS = ", ".join(_ADJUSTMENT_COLUMNS.split())


async def get_adjustment(conn: psycopg.AsyncConnection, device_id: str) -> dict[str, Any] | None:
    """A device's latest adjustment, lifted or not; None if it never had one."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} FROM device_adjustments WHERE device_id = %s".encode(),
            (device_id,),
        )
        return await cur.fetchone()


async def list_adjustments(
    conn: psycopg.AsyncConnection, *, active_at: datetime | None, limit: int
) -> list[dict[str, Any]]:
    """Adjustments, most recent first: those in force at `active_at`, or all when None."""
    where = ""
    if active_at is not None:
        where = "WHERE extra_confirmations > 0 AND until > %(active_at)s"
    query = (
        f"SELECT {_COLUMNS} FROM device_adjustments {where} "
        "ORDER BY at DESC, device_id LIMIT %(limit)s"
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query.encode(), {"active_at": active_at, "limit": limit})
        return await cur.fetchall()


_STATS = """
WITH took_part AS (
    SELECT DISTINCT incident_id FROM incident_evidence
    WHERE device_id = %(device_id)s AND time >= COALESCE(%(since)s::timestamptz, '-infinity')
)
SELECT (SELECT count(*) FROM took_part) AS incidents,
       (SELECT count(*) FROM incident_endings JOIN took_part USING (incident_id)
        WHERE false_alarm AND %(device_id)s = ANY (devices)) AS false_alarms
"""


async def device_stats(
    conn: psycopg.AsyncConnection, device_id: str, *, since: datetime | None = None
) -> dict[str, Any]:
    """Incidents a device took part in since `since`, its false alarms, and their rate."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_STATS, {"device_id": device_id, "since": since})
        row = await cur.fetchone()
    assert row is not None  # an aggregate always answers one row
    incidents, false_alarms = row["incidents"], row["false_alarms"]
    rate = false_alarms / incidents if incidents else None
    return {"incidents": incidents, "false_alarms": false_alarms, "false_alarm_rate": rate}
