"""The Kafka adapter of `RecordSink`: kafka-python's idempotent producer with acks=all."""

from __future__ import annotations

import threading
from collections.abc import Callable

from kafka import KafkaProducer

from gridwatch.ports import Done, RecordSink
from gridwatch.settings import KafkaSettings


class KafkaSink:
    """Writes records to Kafka; a record is done when every in-sync replica has it."""

    def __init__(self, kafka: KafkaSettings, *, client_id: str) -> None:
        self._producer = KafkaProducer(
            bootstrap_servers=kafka.bootstrap,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            # Batching is where the throughput comes from: at a few thousand events/s over six
            # partitions, 5 ms gathered ~1.4 records a batch (bench/README.md); 20 ms of added
            # latency is invisible next to a person's reaction time.
            linger_ms=20,
            batch_size=256 * 1024,
            max_in_flight_requests_per_connection=5,
            delivery_timeout_ms=120_000,
            # Its pure-Python metrics cost ~8% of the bridge's CPU and nobody reads them.
            metrics_enabled=False,
        )

    def send(self, topic: str, key: bytes, value: bytes, done: Done) -> None:
        """Append a record; `done` runs on the producer's I/O thread."""
        future = self._producer.send(topic, key=key, value=value)
        future.add_callback(lambda _meta: done(None))
        future.add_errback(done)

    def flush(self, timeout_s: float) -> None:
        """Block until all sent records are acknowledged or failed."""
        self._producer.flush(timeout=timeout_s)

    def close(self) -> None:
        """Flush and close the producer."""
        self._producer.close(timeout=10)


class LazySink:
    """A `RecordSink` that connects on first use, so its owner can start while Kafka is down.

    A failed connection fails that send (its `done` gets the error) and is tried again on
    the next one; the API answers such a send with a 503 instead of refusing to start.
    """

    def __init__(self, connect: Callable[[], RecordSink]) -> None:
        self._connect = connect
        self._sink: RecordSink | None = None
        self._lock = threading.Lock()

    def _ready(self) -> RecordSink:
        with self._lock:
            if self._sink is None:
                self._sink = self._connect()
            return self._sink

    def send(self, topic: str, key: bytes, value: bytes, done: Done) -> None:
        """Append a record once connected; a connection failure is this record's failure."""
        try:
            sink = self._ready()
        except Exception as exc:
            done(exc)
            return
        sink.send(topic, key, value, done)

    def flush(self, timeout_s: float) -> None:
        """Flush if connected."""
        if self._sink is not None:
            self._sink.flush(timeout_s)

    def close(self) -> None:
        """Close if connected."""
        if self._sink is not None:
            self._sink.close()
