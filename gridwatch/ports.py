"""Ports: the small interfaces domain flows use, with adapters for each run mode."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from kafka import OffsetAndMetadata, TopicPartition

from gridwatch.notifications import Notification

Done = Callable[[BaseException | None], None]


class RecordSink(Protocol):
    """Appends keyed records to a partitioned log (Kafka, or the embedded log)."""

    def send(self, topic: str, key: bytes, value: bytes, done: Done) -> None:
        """Append a record; `done` is called once it is durable (None) or has failed."""

    def flush(self, timeout_s: float) -> None:
        """Wait until every record sent so far is durable or failed."""

    def close(self) -> None:
        """Flush and release the connection."""


class ConsumedRecord(Protocol):
    """A record read from the log: kafka-python's ConsumerRecord and the embedded log's alike."""

    @property
    def topic(self) -> str:
        """Its topic."""

    @property
    def partition(self) -> int:
        """Its partition."""

    @property
    def offset(self) -> int:
        """Its offset in the partition."""

    @property
    def value(self) -> bytes:
        """Its value."""


Batches = Mapping[TopicPartition, Sequence[ConsumedRecord]]


class RecordSource(Protocol):
    """A consumer-group member reading topics: Kafka's consumer, or the embedded log's."""

    def poll(self, timeout_ms: int = 0) -> Batches:
        """The next records per partition; waits up to `timeout_ms` when there are none."""

    def commit(self, offsets: Mapping[TopicPartition, OffsetAndMetadata] | None = None) -> None:
        """Store the group's positions: the given ones, or everything polled."""

    def seek(self, partition: TopicPartition, offset: int) -> None:
        """Read `partition` from `offset` at the next poll."""

    def close(self, autocommit: bool = False) -> None:
        """Leave the group."""


# (topics, group id, client id, most records a poll) → a source reading from the earliest offset
# the group has not committed; without a group, from the newest record on (a live feed).
SourceFactory = Callable[[Sequence[str], str | None, str, int], RecordSource]


class PhotoStore(Protocol):
    """Keeps photos people attach to reports, under references that name their content."""

    def put(self, data: bytes, content_type: str) -> str:
        """Store a photo durably and return its reference; the same bytes give the same one."""

    def get(self, ref: str) -> tuple[bytes, str] | None:
        """The photo's bytes and content type, or None for an unknown reference."""


Channel = Literal["websocket", "webhook", "webpush", "app"]
DeliveryState = Literal["sent", "delivered", "failed", "acked"]


@dataclass(frozen=True)
class DeliveryResult:
    """What became of one notification on one channel."""

    channel: Channel
    state: DeliveryState
    detail: str = ""


class Notifier(Protocol):
    """Hands a notification to one channel (phones' sockets, a gateway, ...)."""

    async def deliver(self, n: Notification) -> DeliveryResult:
        """Deliver once; the result says how far it got."""
