"""The raw-event time series: idempotent inserts into day partitions, and each device's newest."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, timedelta

import psycopg
from psycopg.types.json import Jsonb

from gridwatch.records import RoutedEvent
from gridwatch.store.upsert import newest_wins

log = logging.getLogger(__name__)

# Partitions are made only for days near today; a device clock far off lands in the DEFAULT
# partition instead of creating a partition per bogus day.
PARTITION_DAYS_BACK = 7
PARTITION_DAYS_AHEAD = 2

_INSERT = """
INSERT INTO events (time, device_id, event_id, type, cell_id, lon, lat, received_at, data)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT DO NOTHING
"""
# Arrival decides which event is a device's newest: device clocks are often wrong.
_UPSERT_LAST_HEARD = newest_wins(
    "device_last_heard", "device_id type cell_id lon lat time received_at", newest="received_at"
)


def newest_by_device(routed: Sequence[RoutedEvent]) -> list[RoutedEvent]:
    """Each device's newest event of a batch by arrival, then device time; by device id."""
    newest: dict[str, RoutedEvent] = {}
    for r in routed:
        seen = newest.get(r.device_id)
        if seen is None or (r.received_at, r.event.time) >= (seen.received_at, seen.event.time):
            newest[r.device_id] = r
    # One order for every writer, so two writers of overlapping batches cannot deadlock.
    return [newest[device] for device in sorted(newest)]


class EventSeries:
    """Writes routed events; remembers which UTC-day partitions exist to avoid DDL per batch."""

    def __init__(self) -> None:
        self._ready: set[date] = set()
        self._partitioned: bool | None = None

    def _is_partitioned(self, conn: psycopg.Connection) -> bool:
        if self._partitioned is None:
            row = conn.execute(
                "SELECT c.relkind = 'p' FROM pg_class c WHERE c.oid = 'events'::regclass"
            ).fetchone()
            self._partitioned = bool(row and row[0])
        return self._partitioned

    def _ensure_partition(self, conn: psycopg.Connection, day: date) -> None:
        name = f"events_p{day:%Y%m%d}"
        start, end = f"{day} 00:00+00", f"{day + timedelta(days=1)} 00:00+00"
        try:
            with conn.transaction():
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF events "
                    f"FOR VALUES FROM ('{start}') TO ('{end}')".encode()
                )
        except psycopg.errors.CheckViolation:
            # Rows of that day already sit in the DEFAULT partition; keep using it.
            log.warning("events of %s stay in the default partition", day)
        self._ready.add(day)

    def record(
        self, conn: psycopg.Connection, routed: Sequence[RoutedEvent], *, today: date
    ) -> None:
        """Insert events (duplicates ignored); the caller owns the transaction."""
        if not routed:
            return
        if self._is_partitioned(conn):
            low = today - timedelta(days=PARTITION_DAYS_BACK)
            high = today + timedelta(days=PARTITION_DAYS_AHEAD)
            for day in {r.event.time.astimezone(UTC).date() for r in routed}:
                if low <= day <= high and day not in self._ready:
                    self._ensure_partition(conn, day)
        rows = [
            (
                r.event.time,
                r.device_id,
                r.event.id,
                r.event.type,
                r.cell_id,
                r.lon,
                r.lat,
                r.received_at,
                Jsonb(r.event.data.model_dump(mode="json", exclude_none=True)),
            )
            for r in routed
        ]
        last_heard = [
            {
                "device_id": r.device_id,
                "type": r.event.type,
                "cell_id": r.cell_id,
                "lon": r.lon,
                "lat": r.lat,
                "time": r.event.time,
                "received_at": r.received_at,
            }
            for r in newest_by_device(routed)
        ]
        with conn.cursor() as cur:
            cur.executemany(_INSERT, rows)
            cur.executemany(_UPSERT_LAST_HEARD, last_heard)
