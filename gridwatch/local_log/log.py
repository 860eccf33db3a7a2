"""The embedded log: Kafka's model (topics, keyed partitions, offsets) in files of this machine.

Appends are written at once and made durable by one syncing thread in groups (an fsync every
few milliseconds, not one per record); a record's `done` callback runs after its fsync, and
readers see a record only once it is durable, so nothing downstream acts on a record a crash
could still take back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from kafka.partitioner.default import murmur2

from gridwatch.local_log.partition import Partition
from gridwatch.local_log.segments import LogRecord, decode, encode
from gridwatch.ports import Done

log = logging.getLogger(__name__)
RETENTION_CHECK_S = 60.0


def partition_of(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner: the same key always lands in the same partition."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


class LocalLog:
    """Topics of `partitions` partitions each, under `root`; one instance per process."""

    def __init__(
        self,
        root: Path,
        *,
        partitions: int,
        segment_bytes: int = 64 * 1024 * 1024,
        retention_s: float = 7 * 24 * 3600,
        sync_every_s: float = 0.005,
    ) -> None:
        self.root = root
        self.partitions = partitions
        self._segment_bytes = segment_bytes
        self._retention_s = retention_s
        self._sync_every_s = sync_every_s
        self._topics: dict[str, list[Partition]] = {}
        self._lock = threading.Lock()
        # Signalled after each sync: readers waiting for new records wake up.
        self.synced = threading.Condition(self._lock)
        self._pending: list[tuple[Partition, int, Done]] = []
        # Synced records whose `done` has not returned yet: flush waits for them too.
        self._unacked = 0
        self._consumed: Callable[[str, int], int | None] = lambda _t, _p: None
        self._closed = threading.Event()
        root.mkdir(parents=True, exist_ok=True)
        for folder in sorted(
            p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")
        ):
            self._open(folder.name)
        self._syncer = threading.Thread(target=self._sync_loop, name="local-log-sync", daemon=True)
        self._syncer.start()

    def _open(self, topic: str) -> list[Partition]:
        found = self._topics.get(topic)
        if found is None:
            folder = self.root / topic
            found = [
                Partition(folder / str(n), segment_bytes=self._segment_bytes)
                for n in range(self.partitions)
            ]
            self._topics[topic] = found
        return found

    def watch_consumption(self, consumed: Callable[[str, int], int | None]) -> None:
        """Tell retention how far every reader of a partition has got (None: nobody reads it)."""
        self._consumed = consumed

    def append(self, topic: str, key: bytes, value: bytes, done: Done) -> tuple[int, int]:
        """Write a record to its key's partition; `done(None)` once durable; (partition, offset)."""
        if self._closed.is_set():
            raise RuntimeError("the log is closed")
        now_ms = int(time.time() * 1000)
        frame = encode(key, value, now_ms)
        number = partition_of(key, self.partitions)
        with self._lock:
            partition = self._open(topic)[number]
            offset = partition.append(frame, now_ms)
            self._pending.append((partition, offset, done))
        return number, offset

    def _sync_once(self) -> None:
        with self._lock:
            pending = self._pending
            upto: dict[int, tuple[Partition, int]] = {}
            for partition, offset, _done in pending:
                upto[id(partition)] = (partition, offset + 1)
            # A failed fsync raises with the records still pending: retried, never acked.
            for partition, end in upto.values():
                partition.sync(end)
            self._pending = []
            self._unacked += len(pending)
            if pending:
                self.synced.notify_all()
        try:
            for _partition, _offset, done in pending:
                done(None)
        finally:
            with self._lock:
                self._unacked -= len(pending)

    def _sync_loop(self) -> None:
        next_retention = time.monotonic() + RETENTION_CHECK_S
        while not self._closed.wait(self._sync_every_s):
            try:
                self._sync_once()
                if time.monotonic() >= next_retention:
                    self.retain(int(time.time() * 1000))
                    next_retention = time.monotonic() + RETENTION_CHECK_S
            except OSError:
                # A full or failing disk: records stay unacknowledged, producers see no ack.
                log.exception("the embedded log cannot sync; retrying")

    def flush(self, timeout_s: float) -> None:
        """Return once everything appended so far is durable (or `timeout_s` passed)."""
        ends = time.monotonic() + timeout_s
        while time.monotonic() < ends:
            with self._lock:
                if not self._pending and not self._unacked:
                    return
            time.sleep(self._sync_every_s)
        raise TimeoutError(f"the embedded log did not sync within {timeout_s} s")

    def read(self, topic: str, partition: int, offset: int, limit: int) -> list[LogRecord]:
        """Durable records of a partition from `offset` on."""
        with self._lock:
            frames = self._open(topic)[partition].read(offset, limit)
        out = []
        for at, body in frames:
            timestamp, key, value = decode(body)
            out.append(LogRecord(topic, partition, at, timestamp, key, value))
        return out

    def bounds(self, topic: str, partition: int) -> tuple[int, int]:
        """The oldest kept offset and the offset after the newest durable record."""
        with self._lock:
            part = self._open(topic)[partition]
            return part.start, part.synced

    def retain(self, now_ms: int) -> int:
        """Drop segments past retention that every reader has consumed; how many."""
        cutoff = now_ms - int(self._retention_s * 1000)
        dropped = 0
        with self._lock:
            for topic, partitions in self._topics.items():
                for number, partition in enumerate(partitions):
                    consumed = self._consumed(topic, number)
                    # Nobody reads it at all: age alone decides, as in Kafka.
                    reach = partition.synced if consumed is None else consumed
                    dropped += partition.drop_older(cutoff, reach)
        return dropped

    @property
    def syncing(self) -> bool:
        """Whether records still reach the disk: open, and its syncer has not died."""
        return not self._closed.is_set() and self._syncer.is_alive()

    def close(self) -> None:
        """Sync what is pending, stop the syncer, close every file."""
        self._closed.set()
        self._syncer.join(timeout=10)
        self._sync_once()
        with self._lock:
            for partitions in self._topics.values():
                for partition in partitions:
                    partition.close()
