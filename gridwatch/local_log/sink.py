"""The `RecordSink` of the embedded log: what the bridge and the API write through."""

from __future__ import annotations

from gridwatch.local_log.log import LocalLog
from gridwatch.ports import Done


class LocalSink:
    """Appends to the embedded log; `done` runs once the record is on disk."""

    def __init__(self, log: LocalLog) -> None:
        self._log = log

    def send(self, topic: str, key: bytes, value: bytes, done: Done) -> None:
        """Append a record to its key's partition."""
        try:
            self._log.append(topic, key, value, done)
        except (OSError, RuntimeError) as exc:
            done(exc)

    def flush(self, timeout_s: float) -> None:
        """Wait until every record sent so far is durable."""
        self._log.flush(timeout_s)

    def close(self) -> None:
        """The log belongs to the process, which closes it: only flush here."""
        self._log.flush(30)
