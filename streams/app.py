"""The faust application: cell detectors, then county fusion, each a thin agent over a pure step."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import faust
from pydantic import BaseModel, TypeAdapter, ValidationError

from gridwatch.devices import DeviceAdjusted, Tick
from gridwatch.grid.model import Grid
from gridwatch.kafka_source import METADATA_MAX_AGE_MS
from gridwatch.settings import Settings
from gridwatch.wire import CELL_RECORD, FUSION_RECORD
from streams.cells import CellState, step_cell
from streams.contexts import CellContexts
from streams.county import step_county
from streams.dead_letters import unreadable
from streams.fusion import FusionState
from streams.health import DeviceChanges, DeviceHealth, HealthState

log = logging.getLogger(__name__)
T = TypeVar("T")


def _encode(record: BaseModel) -> bytes:
    return record.model_dump_json(by_alias=True).encode()


Output = tuple[str, bytes, bytes]  # (topic, key, value), yielded by the agents
S = TypeVar("S", bound=BaseModel)


def _load(table: Any, key: str, model: type[S]) -> S:
    """A table value as its model; the model's empty state when the key is absent."""
    stored = table.get(key)
    return model.model_validate(stored) if stored else model()


class TableDevices(Mapping[str, DeviceHealth]):
    """One county's device records in a faust table whose keys are `county/device`."""

    def __init__(self, table: Any, county: str) -> None:
        self._table = table
        self._prefix = f"{county}/"

    def __getitem__(self, device_id: str) -> DeviceHealth:
        stored = self._table.get(self._prefix + device_id)
        if stored is None:
            raise KeyError(device_id)
        return DeviceHealth.model_validate(stored)

    def __iter__(self) -> Iterator[str]:
        cut = len(self._prefix)
        return iter([k[cut:] for k in self._table if k.startswith(self._prefix)])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def apply(self, changes: DeviceChanges) -> None:
        """Store changed devices and delete forgotten ones."""
        # Only while the agent handles a record of the county: faust puts a table's changelog
        # record in the partition of the record being handled, which is the county's.
        for device_id, device in changes.items():
            key = self._prefix + device_id
            if device is not None:
                self._table[key] = device.model_dump(mode="json")
            elif key in self._table:
                del self._table[key]


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
        # faust keeps table files here; the default is the working directory.
        datadir=str(settings.run_dir / "faust"),
        # A killed worker's partitions move to the others after 10 s, not faust's 60 s.
        broker_session_timeout=10.0,
        # Batch what the agents write (findings, incidents, changelogs): with no linger each
        # produce request carried ~1.4 records (bench/README.md).
        producer_linger=0.01,
        broker_heartbeat_interval=3.0,
        # faust's assignor gives nothing for a topic "not found in cluster metadata" yet.
        consumer_metadata_max_age_ms=METADATA_MAX_AGE_MS,
    )


def raw_topic(app: faust.App, *names: str) -> Any:
    """A topic of raw bytes: our pydantic models validate records, not faust's codecs."""
    return app.topic(
        *names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


def _decode(adapter: TypeAdapter[T], event: Any, deadletter: str) -> T | Output:
    """The record an event carries, or the dead letter to send in its place."""
    try:
        return adapter.validate_json(event.value)
    except ValidationError as exc:
        key = event.key or b""
        return deadletter, key, _encode(unreadable(key, event.value, event.message.topic, exc))


def build_agents(app: faust.App, settings: Settings, *, grid: Grid) -> StreamAgents:
    """Register the tables and the two agents on `app`."""
    kafka = settings.kafka
    cfg = settings.detect
    topic_names = ("events", "feedback", "findings", "incidents", "adjustments")
    names = {n: kafka.topic(n) for n in topic_names}
    deadletter = kafka.topic("deadletter")
    # Each table is keyed like the topic its agent reads, so a partition's state lives with it.
    cells = app.Table("cells", default=None, partitions=kafka.partitions)
    counties = app.Table("counties", default=None, partitions=kafka.partitions)
    # Device health: the tracker's clock per county, and one record per device (a county has
    # thousands: one value holding them all would be rewritten with every heartbeat).
    clocks = app.Table("health", default=None, partitions=kafka.partitions)
    devices = app.Table("devices", default=None, partitions=kafka.partitions)
    contexts = CellContexts(cfg)
    county = grid.county.encode()

    async def detect_cells(stream: faust.StreamT[bytes]) -> AsyncIterator[Output]:
        async for event in stream.events():
            record = _decode(CELL_RECORD, event, deadletter)
            if isinstance(record, tuple):
                yield record
                continue
            state = _load(cells, record.cell_id, CellState)
            new_state, outputs = step_cell(state, record, contexts.of(record.cell_id), cfg)
            if new_state is not state:
                cells[record.cell_id] = new_state.model_dump(mode="json")
            for output in outputs:
                if isinstance(output, DeviceAdjusted):
                    yield names["adjustments"], output.device_id.encode(), _encode(output)
                else:
                    yield names["findings"], county, _encode(output)

    async def fuse_county(stream: faust.StreamT[bytes]) -> AsyncIterator[Output]:
        async for event in stream.events():
            item = _decode(FUSION_RECORD, event, deadletter)
            if isinstance(item, tuple):
                yield item
                continue
            key = (event.key or county).decode()
            fusion = _load(counties, key, FusionState)
            health = _load(clocks, key, HealthState)
            book = TableDevices(devices, key)
            step = step_county(fusion, health, book, item, cfg)
            if step.fusion is not fusion:
                counties[key] = step.fusion.model_dump(mode="json")
            if step.health is not health:
                clocks[key] = step.health.model_dump(mode="json")
            book.apply(step.devices)
            for record in step.incidents:
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
    """The streams process: both agents, their outputs sent to Kafka, and the health timer."""
    app = new_app(settings)
    agents = build_agents(app, settings, grid=grid)
    topics: dict[str, Any] = {}

    async def send(output: Output) -> None:
        name, key, value = output
        topic = topics.get(name) or topics.setdefault(name, raw_topic(app, name))
        await topic.send(key=key, value=value)

    async def tick() -> None:
        # The one clock read of the detection path: silence is judged at these ticks' times.
        now = Tick(now=datetime.now(UTC))
        await send((settings.kafka.topic("findings"), grid.county.encode(), _encode(now)))

    agents.detect.add_sink(send)
    agents.fuse.add_sink(send)
    # On the leader only: one worker's clock, one tick per interval, however many workers.
    app.timer(interval=settings.detect.health.tick_s, on_leader=True)(tick)
    return app
