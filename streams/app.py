"""The faust application: cell detectors, then county fusion, each a thin agent over a pure step."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
from pydantic import BaseModel, ValidationError

from gridwatch.grid.model import Grid
from gridwatch.incidents import IncidentEnded
from gridwatch.records import DeadLetter
from gridwatch.rejections import explain
from gridwatch.settings import Settings
from gridwatch.wire import CELL_RECORD, FUSION_RECORD
from streams.cells import CellState, detect
from streams.contexts import CellContexts, county_of
from streams.fusion import FusionState, fuse

log = logging.getLogger(__name__)


def _encode(record: BaseModel) -> bytes:
    return record.model_dump_json(by_alias=True).encode()


Output = tuple[str, bytes, bytes]  # (topic, key, value), yielded by the agents


@dataclass(frozen=True)
class StreamAgents:
    """The two agents; each yields its outputs, which `create_app` sends to Kafka."""

    detect: Any
    fuse: Any


def new_app(settings: Settings) -> faust.App:
    """The faust app with gridwatch's settings and no agents yet."""
    kafka = settings.kafka
    return faust.App(
        f"{kafka.topic_prefix}-streams",
        broker=f"kafka://{kafka.bootstrap}",
        # Memory store: the changelog topics are the durable copy, replayed on start.
        store="memory://",
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        web_enabled=False,
    )


def raw_topic(app: faust.App, *names: str) -> Any:
    """A topic of raw bytes: our pydantic models validate records, not faust's codecs."""
    return app.topic(
        *names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


def _dead_letter(key: bytes, value: bytes, topic: str, exc: ValidationError) -> DeadLetter:
    letter = DeadLetter.of(
        code=explain(exc).code,
        reason=f"record is not one gridwatch writes here: {explain(exc).reason}",
        topic=topic,
        payload=value,
        received_at=datetime.now(UTC),
        rejected_by="streams",
    )
    log.error("dead-lettering record with key %r: %s", key, letter.reason)
    return letter


def build_agents(app: faust.App, settings: Settings, *, grid: Grid) -> StreamAgents:
    """Register the tables and the two agents on `app`."""
    kafka = settings.kafka
    cfg = settings.detect
    names = {n: kafka.topic(n) for n in ("events", "feedback", "findings", "incidents")}
    deadletter = kafka.topic("deadletter")
    # Each table is keyed like the topic its agent reads, so a partition's state lives with it.
    cells = app.Table("cells", default=None, partitions=kafka.partitions)
    counties = app.Table("counties", default=None, partitions=kafka.partitions)
    contexts = CellContexts(cfg)
    county = county_of(grid).encode()

    async def detect_cells(stream: faust.StreamT[bytes]) -> AsyncIterator[Output]:
        async for event in stream.events():
            try:
                record = CELL_RECORD.validate_json(event.value)
            except ValidationError as exc:
                letter = _dead_letter(event.key or b"", event.value, event.message.topic, exc)
                yield deadletter, event.key or b"", _encode(letter)
                continue
            if isinstance(record, IncidentEnded):
                yield names["findings"], county, _encode(record)
                continue
            stored = cells.get(record.cell_id)
            state = CellState.model_validate(stored) if stored else CellState()
            new_state, found = detect(state, record, contexts.of(record.cell_id), cfg)
            if new_state is not state:
                cells[record.cell_id] = new_state.model_dump(mode="json")
            for finding in found:
                yield names["findings"], county, _encode(finding)

    async def fuse_county(stream: faust.StreamT[bytes]) -> AsyncIterator[Output]:
        async for event in stream.events():
            try:
                item = FUSION_RECORD.validate_json(event.value)
            except ValidationError as exc:
                letter = _dead_letter(event.key or b"", event.value, event.message.topic, exc)
                yield deadletter, event.key or b"", _encode(letter)
                continue
            key = (event.key or county).decode()
            stored = counties.get(key)
            state = FusionState.model_validate(stored) if stored else FusionState()
            new_state, records = fuse(state, item, cfg.fusion)
            if new_state is not state:
                counties[key] = new_state.model_dump(mode="json")
            for record in records:
                log.info(
                    "%s %s in cell %s",
                    type(record).__name__,
                    record.incident_id,
                    record.cell_id,
                    extra={"cell_id": record.cell_id},
                )
                yield names["incidents"], record.cell_id.encode(), _encode(record)

    return StreamAgents(
        detect=app.agent(
            raw_topic(app, names["events"], names["feedback"]), name=f"{kafka.topic_prefix}-detect"
        )(detect_cells),
        fuse=app.agent(raw_topic(app, names["findings"]), name=f"{kafka.topic_prefix}-fuse")(
            fuse_county
        ),
    )


def create_app(settings: Settings, *, grid: Grid) -> faust.App:
    """The streams process: both agents, their outputs sent to Kafka with their keys."""
    app = new_app(settings)
    agents = build_agents(app, settings, grid=grid)
    topics: dict[str, Any] = {}

    async def send(output: Output) -> None:
        name, key, value = output
        topic = topics.get(name) or topics.setdefault(name, raw_topic(app, name))
        await topic.send(key=key, value=value)

    agents.detect.add_sink(send)
    agents.fuse.add_sink(send)
    return app
