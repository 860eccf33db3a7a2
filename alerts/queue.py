"""The grid-cell incident queues: incident and event records from Kafka into PostgreSQL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
from pydantic import ValidationError

from gridwatch.devices import DeviceAdjusted
from gridwatch.incidents import IncidentCleared, IncidentDetected, IncidentEnded
from gridwatch.kafka_source import kafka_sources
from gridwatch.notifications import Notification
from gridwatch.ports import ConsumedRecord, RecordSink, SourceFactory
from gridwatch.records import DeadLetter, RoutedEvent
from gridwatch.rejections import explain
from gridwatch.settings import Settings
from gridwatch.store.devices import record_adjustments, record_endings
from gridwatch.store.events import EventSeries
from gridwatch.store.incidents import record_clearances, record_detections
from gridwatch.store.notifications import record_notifications
from gridwatch.wire import CELL_RECORD, FEEDBACK_RECORD, INCIDENT_RECORD

log = logging.getLogger(__name__)


@dataclass
class _Batch:
    """One poll's records, sorted by what becomes of them."""

    found: list[IncidentDetected] = field(default_factory=list)
    cleared: list[IncidentCleared] = field(default_factory=list)
    routed: list[RoutedEvent] = field(default_factory=list)
    adjusted: list[DeviceAdjusted] = field(default_factory=list)
    ended: list[IncidentEnded] = field(default_factory=list)
    notified: list[Notification] = field(default_factory=list)
    rejected: list[DeadLetter] = field(default_factory=list)


class QueueWriter:
    """Consumes incidents, events, adjustments, feedback, notifications; one transaction a poll."""

    def __init__(
        self,
        settings: Settings,
        *,
        conn: psycopg.Connection,
        sink: RecordSink,
        sources: SourceFactory | None = None,
    ) -> None:
        kafka = settings.kafka
        self._sources = sources or kafka_sources(kafka)
        self._incidents_topic = kafka.topic("incidents")
        self._events_topic = kafka.topic("events")
        self._adjustments_topic = kafka.topic("adjustments")
        self._feedback_topic = kafka.topic("feedback")
        self._notifications_topic = kafka.topic("notifications")
        self._deadletter_topic = kafka.topic("deadletter")
        self._kafka = kafka
        self._conn = conn
        self._sink = sink
        self._series = EventSeries()
        self._stop = threading.Event()
        self.written = 0

    def _sort(self, record: ConsumedRecord, batch: _Batch) -> None:
        """Parse one record into its place in the batch; raises ValidationError."""
        if record.topic == self._incidents_topic:
            item = INCIDENT_RECORD.validate_json(record.value)
            if isinstance(item, IncidentDetected):
                batch.found.append(item)
            else:
                batch.cleared.append(item)
        elif record.topic == self._adjustments_topic:
            batch.adjusted.append(DeviceAdjusted.model_validate_json(record.value))
        elif record.topic == self._feedback_topic:
            said = FEEDBACK_RECORD.validate_json(record.value)
            if isinstance(said, IncidentEnded):
                batch.ended.append(said)
        elif record.topic == self._notifications_topic:
            batch.notified.append(Notification.model_validate_json(record.value))
        else:
            parsed = CELL_RECORD.validate_json(record.value)
            # Reports live on as incident evidence; only device events are a series.
            if isinstance(parsed, RoutedEvent):
                batch.routed.append(parsed)

    def _parse(self, records: Iterable[ConsumedRecord]) -> _Batch:
        batch = _Batch()
        for record in records:
            try:
                self._sort(record, batch)
            except ValidationError as exc:
                batch.rejected.append(
                    DeadLetter.of(
                        code=explain(exc).code,
                        reason=f"record at offset {record.offset} of partition "
                        f"{record.partition}: {explain(exc).reason}",
                        topic=record.topic,
                        payload=record.value,
                        received_at=datetime.now(UTC),
                        rejected_by="alerts",
                    )
                )
        return batch

    def _dead_letter(self, rejected: list[DeadLetter]) -> None:
        failures: list[BaseException] = []
        for letter in rejected:
            log.error("dead-lettering %s record: %s", letter.topic, letter.reason)
            self._sink.send(
                self._deadletter_topic,
                letter.topic.encode(),
                letter.model_dump_json(by_alias=True).encode(),
                lambda exc: failures.append(exc) if exc else None,
            )
        self._sink.flush(timeout_s=30)
        if failures:
            raise RuntimeError(f"could not write dead letters: {failures[0]!r}")

    def handle(self, records: list[ConsumedRecord]) -> None:
        """Store one batch; raises if anything could not be made durable."""
        batch = self._parse(records)
        if batch.rejected:
            self._dead_letter(batch.rejected)
        with self._conn.transaction():
            record_detections(self._conn, batch.found)
            record_clearances(self._conn, batch.cleared)
            self._series.record(self._conn, batch.routed, today=datetime.now(UTC).date())
            record_adjustments(self._conn, batch.adjusted)
            record_endings(self._conn, batch.ended)
            record_notifications(self._conn, batch.notified)
        self.written += len(batch.found) + len(batch.cleared) + len(batch.routed)
        self.written += len(batch.adjusted) + len(batch.ended) + len(batch.notified)

    def run(self) -> None:
        """Poll, store, commit offsets, until `stop()`."""
        topics = (
            self._incidents_topic,
            self._events_topic,
            self._adjustments_topic,
            self._feedback_topic,
            self._notifications_topic,
        )
        consumer = self._sources(
            topics, f"{self._kafka.topic_prefix}-alerts", "gridwatch-alerts", 1000
        )
        try:
            while not self._stop.is_set():
                batches = consumer.poll(timeout_ms=500)
                if not batches:
                    continue
                records = [r for batch in batches.values() for r in batch]
                self.handle(records)
                # Offsets move only after the rows are committed: a crash replays, upserts absorb.
                consumer.commit()
                log.debug("stored %d records", len(records))
        finally:
            consumer.close(autocommit=False)

    def stop(self) -> None:
        """Ask `run` to return after the batch in hand."""
        self._stop.set()
