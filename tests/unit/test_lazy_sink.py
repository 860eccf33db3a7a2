"""LazySink connects on first use and turns a failed connection into that send's failure."""

from __future__ import annotations

from gridwatch.ports import Done, RecordSink
from ingest.kafka_sink import LazySink


class ListSink:
    """Keeps records in a list and reports each durable at once."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes, bytes]] = []
        self.closed = False

    def send(self, topic: str, key: bytes, value: bytes, done: Done) -> None:
        self.records.append((topic, key, value))
        done(None)

    def flush(self, timeout_s: float) -> None:
        """Nothing is ever pending."""

    def close(self) -> None:
        self.closed = True


def test_a_failed_connection_fails_the_send_and_is_tried_again() -> None:
    attempts: list[int] = []
    target = ListSink()

    def connect() -> RecordSink:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionError("kafka is down")
        return target

    sink = LazySink(connect)
    sink.flush(1)
    results: list[BaseException | None] = []
    sink.send("t", b"k", b"v1", results.append)
    sink.send("t", b"k", b"v2", results.append)
    sink.send("t", b"k", b"v3", results.append)
    assert isinstance(results[0], ConnectionError)
    assert results[1:] == [None, None]
    assert target.records == [("t", b"k", b"v2"), ("t", b"k", b"v3")]
    assert len(attempts) == 2
    sink.close()
    assert target.closed
