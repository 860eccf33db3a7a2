"""Record sinks that fail on purpose: a broker refusing, for the paths after a failed produce."""

from __future__ import annotations

from kafka.errors import KafkaError

from gridwatch.ports import Done


class RefusingSink:
    """A `RecordSink` whose broker refuses every record: a produce that fails after the commit."""

    def send(self, topic: str, key: bytes, value: bytes, done: Done) -> None:
        """Fail the record at once, as a broker's error would."""
        done(KafkaError("injected: the broker refused the record"))

    def flush(self, timeout_s: float) -> None:
        """Nothing is in flight."""

    def close(self) -> None:
        """Nothing to release."""
