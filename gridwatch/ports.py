"""Ports: the small interfaces domain flows use, with adapters for each run mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Done = Callable[[BaseException | None], None]


class RecordSink(Protocol):
    """Appends keyed records to a partitioned log (Kafka, or the embedded log)."""

    def send(self, topic: str, key: bytes, value: bytes, done: Done) -> None:
        """Append a record; `done` is called once it is durable (None) or has failed."""

    def flush(self, timeout_s: float) -> None:
        """Wait until every record sent so far is durable or failed."""

    def close(self) -> None:
        """Flush and release the connection."""
