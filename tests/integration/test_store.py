"""The PostgreSQL store, over a real connection to the project's cluster."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from gridwatch.incidents import Evidence, IncidentDetected, Severity
from gridwatch.records import RoutedEvent
from gridwatch.settings import Settings
from gridwatch.store.events import EventSeries
from gridwatch.store.incidents import get_incident, list_incidents, record_detections
from gridwatch.store.migrate import load_migrations, migrate
from ingest.validate import route_message
from tests.support import event, payload, small_grid

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def conn(settings: Settings) -> psycopg.Connection:
    connection = psycopg.connect(settings.postgres.conninfo(), autocommit=True)
    migrate(connection)
    return connection


def detected(
    incident: str, event_id: str, *, severity: Severity, cell: str = "c1", at: datetime = NOW
) -> IncidentDetected:
    return IncidentDetected(
        incident_id=incident,
        cell_id=cell,
        kind="hazard",
        category="fire",
        severity=severity,
        detector="fire/1",
        opened_at=at,
        evidence=Evidence(
            device_id="cam-1",
            event_id=event_id,
            type="blue-sky.fire",
            time=at,
            confidence=0.9,
            lon=114.3,
            lat=35.9,
        ),
    )


def test_migrations_apply_once(conn: psycopg.Connection) -> None:
    assert migrate(conn) == []
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [m.version for m in load_migrations()]


def test_redelivered_detections_leave_one_incident_with_true_counts(
    conn: psycopg.Connection,
) -> None:
    first = detected("inc-a", "e1", severity=Severity.HIGH)
    second = detected("inc-a", "e2", severity=Severity.CRITICAL, at=NOW + timedelta(minutes=1))
    for _ in range(3):
        with conn.transaction():
            record_detections(conn, [first, second, first])
    row = conn.execute(
        "SELECT count(*), max(evidence_count), max(severity), max(last_evidence_at)"
        " FROM incidents WHERE incident_id = 'inc-a'"
    ).fetchone()
    assert row == (1, 2, 4, NOW + timedelta(minutes=1))


def test_queue_orders_by_severity_then_newest(conn: psycopg.Connection, settings: Settings) -> None:
    with conn.transaction():
        record_detections(
            conn,
            [
                detected("q-old-high", "x1", severity=Severity.HIGH, cell="cq", at=NOW),
                detected(
                    "q-new-high",
                    "x2",
                    severity=Severity.HIGH,
                    cell="cq",
                    at=NOW + timedelta(seconds=5),
                ),
                detected(
                    "q-low", "x3", severity=Severity.LOW, cell="cq", at=NOW + timedelta(seconds=9)
                ),
            ],
        )

    async def read() -> tuple[list[str], list[str]]:
        async with await psycopg.AsyncConnection.connect(settings.postgres.conninfo()) as aconn:
            rows = await list_incidents(aconn, cells=["cq"], status="new", limit=10)
            detail = await get_incident(aconn, "q-low")
        assert detail is not None
        return [r["incident_id"] for r in rows], [e["event_id"] for e in detail["evidence"]]

    order, evidence = asyncio.run(read())
    assert order == ["q-new-high", "q-old-high", "q-low"]
    assert evidence == ["x3"]


def test_raw_events_land_in_day_partitions_and_dedupe(conn: psycopg.Connection) -> None:
    grid = small_grid()
    today = NOW.date()
    routed = []
    for i, at in enumerate([NOW, NOW - timedelta(days=1), NOW - timedelta(days=400)]):
        r = route_message(
            "gridwatch/v1/sharp-eyes/cam-p/events",
            payload(event("sharp-eyes.motion", device="cam-p", event_id=f"m{i}", at=at)),
            grid=grid,
            received_at=NOW,
        )
        assert isinstance(r, RoutedEvent)
        routed.append(r)
    series = EventSeries()
    for _ in range(2):
        with conn.transaction():
            series.record(conn, routed + routed, today=today)
    rows: dict[str, str] = dict(
        conn.execute(
            "SELECT event_id, tableoid::regclass::text FROM events WHERE device_id = 'cam-p'"
        ).fetchall()
    )
    assert rows == {
        "m0": f"events_p{NOW:%Y%m%d}",
        "m1": f"events_p{NOW - timedelta(days=1):%Y%m%d}",
        "m2": "events_default",
    }


def test_a_devices_newest_arrival_is_kept_and_never_rolled_back(conn: psycopg.Connection) -> None:
    grid = small_grid()
    device = f"cam-n{NOW:%H%M%S%f}"

    def arrived(event_id: str, *, at: datetime, received: datetime) -> RoutedEvent:
        r = route_message(
            f"gridwatch/v1/sharp-eyes/{device}/events",
            payload(event("sharp-eyes.motion", device=device, event_id=event_id, at=at)),
            grid=grid,
            received_at=received,
        )
        assert isinstance(r, RoutedEvent)
        return r

    # The device's clock runs an hour behind: arrival, not its time, says which is newest.
    late_clock = arrived("e2", at=NOW - timedelta(hours=1), received=NOW)
    earlier = arrived("e1", at=NOW - timedelta(minutes=5), received=NOW - timedelta(minutes=5))
    series = EventSeries()
    with conn.transaction():
        series.record(conn, [late_clock, earlier], today=NOW.date())
    # A replay of the older one, stored again later, must not roll the row back.
    with conn.transaction():
        series.record(conn, [earlier], today=NOW.date())
    row = conn.execute(
        "SELECT time, received_at FROM device_last_heard WHERE device_id = %s", (device,)
    ).fetchone()
    assert row == (NOW - timedelta(hours=1), NOW)


def test_times_come_back_in_utc_whatever_the_servers_zone(settings: Settings) -> None:
    database = settings.postgres.database
    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {database} SET timezone TO 'Europe/Berlin'".encode())
        try:
            with psycopg.connect(settings.postgres.conninfo()) as conn:
                row = conn.execute("SELECT current_setting('TimeZone'), now()").fetchone()
        finally:
            admin.execute(f"ALTER DATABASE {database} RESET timezone".encode())
    assert row is not None
    zone, now = row
    assert zone == "UTC"
    assert now.utcoffset() == timedelta(0)
