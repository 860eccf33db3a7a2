"""The faust application: moves routed events through the detector into the incident topic."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import faust
from pydantic import ValidationError

from gridwatch.records import DeadLetter, RoutedEvent
from gridwatch.rejections import explain
from gridwatch.settings import Settings
from streams.fire import CellState, step

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> faust.App:
    """Build the faust app with its topics, its state table and the detector agent."""
    kafka = settings.kafka
    app = faust.App(
        f"{kafka.topic_prefix}-streams",
        broker=f"kafka://{kafka.bootstrap}",
        # Memory store: the changelog topic is the durable copy, replayed on start.
        store="memory://",
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        web_enabled=False,
    )
    events, incidents, deadletter = (
        # Raw bytes: records are validated by our pydantic models, not by faust's codecs.
        app.topic(
            kafka.topic(name),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )
        for name in ("events", "incidents", "deadletter")
    )
    # Keyed by cell id like the events topic, so each partition's state lives with its events.
    cells = app.Table("fire-detector", default=None, partitions=kafka.partitions)
    cfg = settings.detect

    async def detect(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            cell_key: bytes = event.key or b""
            try:
                routed = RoutedEvent.model_validate_json(event.value)
            except ValidationError as exc:
                await _dead_letter(deadletter, cell_key, event.value, exc, kafka.topic("events"))
                continue
            cell = routed.cell_id
            stored = cells.get(cell)
            state = CellState.model_validate(stored) if stored else CellState()
            new_state, emitted = step(state, routed, cfg)
            if new_state is not state:
                cells[cell] = new_state.model_dump(mode="json")
            for incident in emitted:
                log.info(
                    "incident %s %s in cell %s from %s",
                    incident.incident_id,
                    incident.category,
                    cell,
                    routed.dedupe_key,
                    extra={"cell_id": cell, "event_id": routed.event.id},
                )
                await incidents.send(
                    key=cell.encode(), value=incident.model_dump_json(by_alias=True).encode()
                )

    app.agent(events, name=f"{kafka.topic_prefix}-detect")(detect)
    return app


async def _dead_letter(
    topic: Any, key: bytes, value: bytes, exc: ValidationError, source_topic: str
) -> None:
    """Park a record of the events topic that is not a routed event; never crash on it."""
    letter = DeadLetter.of(
        code="invalid_field",
        reason=f"record is not a routed event: {explain(exc).reason}",
        topic=source_topic,
        payload=value,
        received_at=datetime.now(UTC),
        rejected_by="streams",
    )
    log.error("dead-lettering record with key %r: %s", key, letter.reason)
    await topic.send(key=key, value=letter.model_dump_json(by_alias=True).encode())
