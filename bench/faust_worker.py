"""One `gridwatch streams` worker draining pre-produced events, next to a plain aiokafka reader."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from aiokafka.structs import TopicPartition as AioPartition  # type: ignore[import-untyped]
from kafka import TopicPartition
from kafka.partitioner.default import murmur2

from bench.event_mix import route
from bench.kafka_side import Tally, admin_client, delete_topics, reader
from bench.measurements import PUBLISH_TIMEOUT_S, READY_TIMEOUT_S, Span, cpu_seconds
from bench.processes import check_alive, running
from gridwatch.devices import Tick
from gridwatch.grid.model import Grid
from gridwatch.kafka_admin import ensure_topics
from gridwatch.records import RoutedEvent
from gridwatch.settings import KafkaSettings
from ingest.kafka_sink import KafkaSink

TICK = Tick.model_fields["schema_"].default
Record = tuple[bytes, bytes]  # (key, value) as the bridge writes it to the events topic


def encoded(routed: RoutedEvent) -> Record:
    """The events-topic record of a routed event: keyed by cell, as the bridge writes it."""
    return routed.cell_id.encode(), routed.model_dump_json(by_alias=True).encode()


def closing_fires(grid: Grid, partitions: int, at: datetime) -> list[RoutedEvent]:
    """One fire per events partition, at `at`, in a cell whose key the producer puts there."""
    # Sent after the mix, each is its partition's last record; a fire always yields an
    # incident, and fusion reads every finding in order, so their incidents mark the end.
    chosen: dict[int, RoutedEvent] = {}
    for cell in grid.cells:
        # kafka-python's default partitioner, which KafkaSink uses.
        p = (murmur2(cell.id.encode()) & 0x7FFFFFFF) % partitions
        if p not in chosen:
            fire = route("blue-sky.fire", f"bench-end-{p}", f"end-{p}", at, cell, grid)
            chosen[p] = fire
        if len(chosen) == partitions:
            return [chosen[p] for p in sorted(chosen)]
    raise ValueError(f"the grid's cells fill only {len(chosen)} of {partitions} partitions")


def produce(kafka: KafkaSettings, records: Sequence[Record]) -> None:
    """Write the records to the events topic with the bridge's producer; fail on any error."""
    tally = Tally()
    sink = KafkaSink(kafka, client_id=f"bench-producer-{uuid.uuid4().hex[:8]}")
    try:
        for key, value in records:
            sink.send(kafka.topic("events"), key, value, tally.done)
        sink.flush(timeout_s=PUBLISH_TIMEOUT_S)
    finally:
        sink.close()
    if tally.failed or tally.ok != len(records):
        raise RuntimeError(f"{len(records) - tally.ok} events not written: {tally.failed[:1]}")


async def _consume(kafka: KafkaSettings, n: int) -> Span:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        topic = kafka.topic("events")
        # Timed from the assignment: the fetches start with it.
        started, cpu = time.perf_counter(), time.process_time()
        consumer.assign([AioPartition(topic, p) for p in range(kafka.partitions)])
        await consumer.seek_to_beginning()
        seen = 0
        while seen < n:
            batches = await consumer.getmany(timeout_ms=int(READY_TIMEOUT_S * 1000))
            if not batches:
                raise RuntimeError(f"the events topic ran dry after {seen} of {n} records")
            seen += sum(len(records) for records in batches.values())
        return Span(n, time.perf_counter() - started, time.process_time() - cpu)
    finally:
        await consumer.stop()


def measure_consumer(kafka: KafkaSettings, n: int) -> Span:
    """Consume-only: an aiokafka reader (faust's client) of the n records, assigned to last."""
    return asyncio.run(_consume(kafka, n))


@dataclass(frozen=True)
class Mark:
    """A moment of the worker's run: an output record's timestamp, our clock, the worker's CPU."""

    stamp: float
    clock: float
    cpu: float

    @classmethod
    def of(cls, timestamp_ms: int, pid: int) -> Mark:
        """Now, seen through an output record with this timestamp."""
        return cls(timestamp_ms / 1000, time.monotonic(), cpu_seconds(pid))


class Outputs:
    """Reads the worker's findings (until the first that is no tick) and incidents topics."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._findings, self._incidents = kafka.topic("findings"), kafka.topic("incidents")
        self._consumer = reader(kafka, "outputs")
        self._consumer.topics()  # fetches the metadata that partitions_for_topic reads
        self.events = self._partitions(kafka.topic("events"))
        self._consumer.assign(self._partitions(self._findings) + self._partitions(self._incidents))
        self._consumer.seek_to_beginning()

    def _partitions(self, topic: str) -> list[TopicPartition]:
        return [
            TopicPartition(topic, p) for p in sorted(self._consumer.partitions_for_topic(topic))
        ]

    def watch(self, pid: int, ends: set[str], alive: Callable[[], None]) -> tuple[Mark, Mark]:
        """The worker's first output that is no tick, and its last incident naming `ends`."""
        first: Mark | None = None
        pending = set(ends)
        deadline = time.monotonic() + PUBLISH_TIMEOUT_S
        while time.monotonic() < deadline:
            alive()
            for tp, records in self._consumer.poll(timeout_ms=100).items():
                for record in records:
                    doc = json.loads(record.value)
                    if tp.topic == self._findings:
                        if first is None and doc.get("schema") != TICK:
                            first = Mark.of(record.timestamp, pid)
                            self._consumer.pause(*self._partitions(self._findings))
                    elif doc.get("evidence", {}).get("event_id") in pending:
                        pending.remove(doc["evidence"]["event_id"])
                        if not pending and first is not None:
                            return first, Mark.of(record.timestamp, pid)
        raise RuntimeError(f"no incident for {sorted(pending)} in {PUBLISH_TIMEOUT_S} s")

    def end_offsets(self) -> dict[TopicPartition, int]:
        """The end offset of each events partition."""
        ends: dict[TopicPartition, int] = self._consumer.end_offsets(self.events)
        return ends

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close()


def committed_at(kafka: KafkaSettings, group: str, ends: dict[TopicPartition, int]) -> float:
    """Our clock when the group has committed every events partition to its end."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    with closing(admin_client(kafka)) as admin:
        while time.monotonic() < deadline:
            offsets = admin.list_group_offsets(group).get(group, {})
            if all(tp in offsets and offsets[tp].offset >= end for tp, end in ends.items()):
                return time.monotonic()
            time.sleep(0.1)
    raise RuntimeError(f"{group} did not commit the events topic's end offsets")


@dataclass(frozen=True)
class WorkerRun:
    """The worker's span, and when its consumer group had committed every event."""

    span: Span
    committed_after_s: float


def measure_worker(
    kafka: KafkaSettings, records: Sequence[Record], ends: set[str], workdir: Path
) -> tuple[WorkerRun, Span]:
    """Pre-produce the records; read them with aiokafka, then drain them with one faust worker."""
    # The worker runs under its own topic prefix and run folder (in `workdir`, with its log);
    # its topics, changelogs, consumer group and run folder are deleted at the end.
    group = f"{kafka.topic_prefix}-streams"
    log_path = workdir / f"{group}.log"
    run_dir = workdir / kafka.topic_prefix
    run_dir.mkdir()
    env = {"GRIDWATCH_KAFKA__TOPIC_PREFIX": kafka.topic_prefix, "GRIDWATCH_RUN_DIR": str(run_dir)}
    try:
        ensure_topics(kafka)
        produce(kafka, records)
        consumer = measure_consumer(kafka, len(records))
        with (
            closing(Outputs(kafka)) as outputs,
            running(["-m", "gridwatch.cli", "streams"], env, log_path, cwd=workdir) as worker,
        ):
            alive = partial(check_alive, worker, log_path, "the streams worker")
            first, last = outputs.watch(worker.pid, ends, alive)
            committed = committed_at(kafka, group, outputs.end_offsets())
        span = Span(len(records), last.stamp - first.stamp, last.cpu - first.cpu)
        return WorkerRun(span, committed - first.clock), consumer
    finally:
        delete_topics(kafka, f"{group}-")
        with closing(admin_client(kafka)) as admin:
            admin.delete_groups([group])
        shutil.rmtree(run_dir, ignore_errors=True)
