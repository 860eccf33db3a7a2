"""The false-alarm loop's store: adjustments and endings from Kafka into PostgreSQL, and rates."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from alerts.queue import QueueWriter
from gridwatch.devices import AdjustmentRevoked, DeviceAdjusted
from gridwatch.incidents import Evidence, IncidentDetected, IncidentEnded, Severity
from gridwatch.kafka_admin import ensure_topics
from gridwatch.records import DeadLetter
from gridwatch.settings import Settings
from gridwatch.store.devices import (
    device_stats,
    get_adjustment,
    list_adjustments,
    record_adjustments,
    record_endings,
)
from gridwatch.store.incidents import record_detections
from gridwatch.store.migrate import migrate
from ingest.kafka_sink import KafkaSink
from tests.conftest import read_topic, wait_until

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def conn(settings: Settings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as connection:
        migrate(connection)
        yield connection


def device() -> str:
    """A device id no other test uses: the database is shared by the whole run."""
    return f"cam-{uuid.uuid4().hex[:10]}"


def adjusted(dev: str, *, extra: int = 1, at: datetime = NOW, **fields: Any) -> DeviceAdjusted:
    base: dict[str, Any] = {
        "device_id": dev,
        "cell_id": "c-west",
        "extra_confirmations": extra,
        "until": at + timedelta(days=7) if extra else None,
        "false_alarms": 1,
        "reason": "incident x cancelled as a false alarm: fog",
        "at": at,
    }
    return DeviceAdjusted.model_validate(base | fields)


def ended(incident: str, devices: list[str], *, false_alarm: bool = True) -> IncidentEnded:
    return IncidentEnded(
        incident_id=incident,
        cell_id="c-west",
        category="smoke",
        outcome="cancelled" if false_alarm else "closed",
        false_alarm=false_alarm,
        reason="fog over the reservoir" if false_alarm else "put out",
        devices=devices,
        ended_at=NOW,
    )


def detected(incident: str, dev: str, at: datetime) -> IncidentDetected:
    evidence = Evidence(
        device_id=dev,
        event_id=f"{incident}-e",
        type="blue-sky.smoke",
        time=at,
        confidence=0.8,
        lon=114.3,
        lat=35.9,
    )
    return IncidentDetected(
        incident_id=incident,
        cell_id="c-west",
        kind="hazard",
        category="smoke",
        severity=Severity.HIGH,
        detector="fire/1",
        opened_at=at,
        evidence=evidence,
    )


def read(settings: Settings, query: Any) -> Any:
    """Run one async repository read on its own connection."""

    async def run() -> Any:
        async with await psycopg.AsyncConnection.connect(settings.postgres.conninfo()) as aconn:
            return await query(aconn)

    return asyncio.run(run())


def test_adjustments_upsert_keeps_the_newest_decision(
    conn: psycopg.Connection, settings: Settings
) -> None:
    dev = device()
    first = adjusted(dev, at=NOW)
    second = adjusted(dev, extra=2, at=NOW + timedelta(minutes=5), false_alarms=2)
    lifted = adjusted(dev, extra=0, at=NOW + timedelta(minutes=9), reason="lifted by operator")
    for _ in range(2):
        with conn.transaction():
            record_adjustments(conn, [first, second, first])
    row = read(settings, lambda c: get_adjustment(c, dev))
    assert (row["extra_confirmations"], row["false_alarms"], row["at"]) == (2, 2, second.at)
    with conn.transaction():
        record_adjustments(conn, [lifted, second])
    row = read(settings, lambda c: get_adjustment(c, dev))
    assert (row["extra_confirmations"], row["until"], row["reason"]) == (0, None, lifted.reason)
    assert read(settings, lambda c: get_adjustment(c, device())) is None


def test_only_adjustments_in_force_are_listed_as_active(
    conn: psycopg.Connection, settings: Settings
) -> None:
    older, newer, lapsed, lifted = (device() for _ in range(4))
    with conn.transaction():
        record_adjustments(
            conn,
            [
                adjusted(older, at=NOW - timedelta(hours=2)),
                adjusted(newer, at=NOW - timedelta(hours=1)),
                adjusted(lapsed, at=NOW - timedelta(days=8)),
                adjusted(lifted, extra=0, at=NOW),
            ],
        )
    ours = {older, newer, lapsed, lifted}

    def listed(active_at: datetime | None) -> list[str]:
        rows = read(settings, lambda c: list_adjustments(c, active_at=active_at, limit=500))
        return [r["device_id"] for r in rows if r["device_id"] in ours]

    assert listed(NOW) == [newer, older]
    assert listed(None) == [lifted, newer, older, lapsed]


def test_endings_upsert_once_and_a_later_one_wins(conn: psycopg.Connection) -> None:
    incident = f"inc-{uuid.uuid4().hex[:8]}"
    cancelled = ended(incident, ["cam-a", "report:anonymous"])
    closed = ended(incident, ["cam-a"], false_alarm=False).model_copy(
        update={"ended_at": NOW + timedelta(hours=1)}
    )
    for _ in range(2):
        with conn.transaction():
            record_endings(conn, [cancelled, cancelled])
    rows = conn.execute(
        "SELECT outcome, false_alarm, devices FROM incident_endings WHERE incident_id = %s",
        (incident,),
    ).fetchall()
    assert rows == [("cancelled", True, ["cam-a", "report:anonymous"])]
    with conn.transaction():
        record_endings(conn, [closed, cancelled])
    row = conn.execute(
        "SELECT outcome, ended_at FROM incident_endings WHERE incident_id = %s", (incident,)
    ).fetchone()
    assert row == ("closed", closed.ended_at)


def test_an_ending_takes_the_incident_out_of_the_open_queue(conn: psycopg.Connection) -> None:
    incident = f"inc-{uuid.uuid4().hex[:8]}"
    with conn.transaction():
        record_detections(conn, [detected(incident, "cam-q", NOW)])
        record_endings(conn, [ended(incident, ["cam-q"])])
    row = conn.execute("SELECT status FROM incidents WHERE incident_id = %s", (incident,))
    assert row.fetchone() == ("cancelled",)


def test_false_alarm_rate_counts_the_incidents_the_device_took_part_in(
    conn: psycopg.Connection, settings: Settings
) -> None:
    dev, other = device(), device()
    ids = {name: f"{name}-{dev}" for name in ("a", "b", "c", "d", "e")}
    long_ago = NOW - timedelta(days=60)
    with conn.transaction():
        record_detections(
            conn,
            [
                detected(ids["a"], dev, NOW),
                detected(ids["b"], dev, NOW),
                detected(ids["c"], dev, NOW),
                detected(ids["d"], dev, long_ago),
                detected(ids["e"], other, NOW),
            ],
        )
        record_endings(
            conn,
            [
                ended(ids["a"], [dev, other]),  # a false alarm of both
                ended(ids["b"], [dev], false_alarm=False),  # handled: a true alarm
                ended(ids["c"], [other]),  # a false alarm not laid on dev
                ended(ids["d"], [dev]),  # a false alarm, two months ago
                ended(ids["e"], [dev]),  # names dev, but dev gave it no evidence
            ],
        )
    stats = read(settings, lambda c: device_stats(c, dev))
    assert stats == {"incidents": 4, "false_alarms": 2, "false_alarm_rate": 0.5}
    recent = read(settings, lambda c: device_stats(c, dev, since=NOW - timedelta(days=30)))
    assert recent["incidents"] == 3
    assert recent["false_alarms"] == 1
    assert recent["false_alarm_rate"] == pytest.approx(1 / 3)
    unknown = read(settings, lambda c: device_stats(c, device()))
    assert unknown == {"incidents": 0, "false_alarms": 0, "false_alarm_rate": None}


@pytest.fixture
def writer(settings: Settings) -> Iterator[None]:
    """The alerts consumer running in a thread, as `gridwatch alerts` runs it."""
    ensure_topics(settings.kafka)
    failures: list[BaseException] = []
    sink = KafkaSink(settings.kafka, client_id="test-feedback-alerts")
    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as connection:
        queue = QueueWriter(settings, conn=connection, sink=sink)

        def run() -> None:
            try:
                queue.run()
            except BaseException as exc:  # handed to the test below, which fails on it
                failures.append(exc)

        thread = threading.Thread(target=run, name="alerts", daemon=True)
        thread.start()
        try:
            yield
        finally:
            queue.stop()
            thread.join(timeout=30)
            sink.close()
    assert not failures, failures


def publish(settings: Settings, topic: str, key: str, value: bytes) -> None:
    sink = KafkaSink(settings.kafka, client_id="test-feedback-publisher")
    try:
        errors: list[BaseException | None] = []
        sink.send(settings.kafka.topic(topic), key.encode(), value, errors.append)
        sink.flush(timeout_s=30)
        assert errors == [None]
    finally:
        sink.close()


def test_the_alerts_consumer_stores_adjustments_and_endings(
    writer: None, conn: psycopg.Connection, settings: Settings
) -> None:
    dev = device()
    incident = f"inc-{dev}"
    adjustment = adjusted(dev, extra=2)
    publish(settings, "adjustments", dev, adjustment.model_dump_json(by_alias=True).encode())
    for record in (
        ended(incident, [dev]),
        AdjustmentRevoked(device_id=dev, cell_id="c-west", by="operator", at=NOW),
    ):
        publish(settings, "feedback", "c-west", record.model_dump_json(by_alias=True).encode())
    bad = b'{"schema": "gridwatch.device-adjusted/1", "device_id": "' + dev.encode() + b'"}'
    publish(settings, "adjustments", dev, bad)

    def stored() -> tuple[Any, ...] | None:
        return conn.execute(
            "SELECT a.extra_confirmations, e.false_alarm, e.devices FROM device_adjustments a"
            " JOIN incident_endings e ON e.incident_id = %s WHERE a.device_id = %s",
            (incident, dev),
        ).fetchone()

    assert wait_until(stored, timeout=60, what="the adjustment and the ending") == (2, True, [dev])
    letters = read_topic(
        settings, "deadletter", lambda r: DeadLetter.model_validate_json(r.value).payload == bad
    )
    letter = DeadLetter.model_validate_json(letters[0].value)
    assert (letter.topic, letter.rejected_by) == (settings.kafka.topic("adjustments"), "alerts")
    assert "cell_id" in letter.reason
