"""The Kafka side: the producer alone, the events-topic tail, and the bench's topics."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from contextlib import closing

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from bench.measurements import PUBLISH_TIMEOUT_S, READY_TIMEOUT_S, CpuMeter, Measurement
from gridwatch.settings import KafkaSettings
from ingest.kafka_sink import KafkaSink


class Tally:
    """Completions reported by the producer's I/O thread."""

    def __init__(self) -> None:
        self.ok = 0
        self.failed: list[BaseException] = []

    def done(self, exc: BaseException | None) -> None:
        """`RecordSink` completion callback."""
        if exc is None:
            self.ok += 1
        else:
            self.failed.append(exc)


def measure_producer(
    kafka: KafkaSettings, topic: str, records: list[tuple[bytes, bytes]]
) -> Measurement:
    """`KafkaSink` (the bridge's producer settings): records/s from first send to flushed."""
    sink = KafkaSink(kafka, client_id=f"bench-producer-{uuid.uuid4().hex[:8]}")
    try:
        # Untimed: connection and topic metadata.
        sink.send(topic, b"warm-up", b"{}", Tally().done)
        sink.flush(timeout_s=READY_TIMEOUT_S)
        tally = Tally()
        meter = CpuMeter({"producer": os.getpid()})
        meter.start()
        started = time.monotonic()
        for key, value in records:
            sink.send(topic, key, value, tally.done)
        sink.flush(timeout_s=PUBLISH_TIMEOUT_S)
        elapsed = time.monotonic() - started
        busy = meter.busy()
    finally:
        sink.close()
    if tally.failed:
        print(f"  producer: {len(tally.failed)} failed, first: {tally.failed[0]!r}")
    return Measurement(rate=len(records) / elapsed, lost=len(records) - tally.ok, cpu=busy)


def reader(kafka: KafkaSettings, name: str) -> KafkaConsumer:
    """A consumer outside any group, for topics a measured process writes."""
    return KafkaConsumer(
        bootstrap_servers=kafka.bootstrap,
        client_id=f"bench-{name}-{uuid.uuid4().hex[:8]}",
        group_id=None,
        enable_auto_commit=False,
        # The measured process creates its topics with their partitions; metadata must not.
        allow_auto_create_topics=False,
        # This reader shares the cores with the process it measures: skip the CRC check.
        check_crcs=False,
    )


class EventsTail:
    """Reads a topic from its beginning, handing each record's event id to a callback."""

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self.topic = topic
        self._consumer = reader(kafka, "tail")

    def attach(self, ready: Callable[[], None]) -> None:
        """Wait for the topic to exist (calling `ready` to check on its creator), then assign."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not (partitions := self._consumer.partitions_for_topic(self.topic)):
            ready()
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {self.topic} did not appear")
            time.sleep(0.2)
        self._consumer.assign([TopicPartition(self.topic, p) for p in sorted(partitions)])
        self._consumer.seek_to_beginning()

    def poll(self, on_event: Callable[[str], object], timeout_ms: int = 200) -> None:
        """Fetch what is there and call `on_event(event id)` for each record."""
        for records in self._consumer.poll(timeout_ms=timeout_ms).values():
            for record in records:
                on_event(json.loads(record.value)["event"]["id"])

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close()


def admin_client(kafka: KafkaSettings) -> KafkaAdminClient:
    """An admin client for the bench's topics."""
    return KafkaAdminClient(bootstrap_servers=kafka.bootstrap, client_id="bench-admin")


def create_topic(kafka: KafkaSettings, name: str) -> None:
    """Create a topic sized like the bridge's events topic."""
    topic = NewTopic(
        name=name, num_partitions=kafka.partitions, replication_factor=kafka.replication_factor
    )
    with closing(admin_client(kafka)) as admin:
        admin.create_topics([topic])


def delete_topics(kafka: KafkaSettings, *starts: str) -> list[str]:
    """Delete every topic under the bench prefix, or starting with one of `starts`; name them."""
    with closing(admin_client(kafka)) as admin:
        begins = (f"{kafka.topic_prefix}.", *starts)
        names = sorted(t for t in admin.list_topics() if t.startswith(begins))
        if names:
            admin.delete_topics(names)
        return names
