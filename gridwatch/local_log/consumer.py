"""Reading the embedded log as kafka-python's KafkaConsumer reads Kafka: poll, commit, seek."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from typing import Literal

from kafka import OffsetAndMetadata, TopicPartition

from gridwatch.local_log.log import LocalLog
from gridwatch.local_log.segments import LogRecord


class GroupOffsets:
    """Committed offsets of every consumer group, one small file each, replaced atomically."""

    def __init__(self, log: LocalLog) -> None:
        self._folder = log.root / "_groups"
        self._folder.mkdir(exist_ok=True)
        self._lock = threading.Lock()
        self._groups: dict[str, dict[str, int]] = {}
        for path in self._folder.glob("*.json"):
            self._groups[path.stem] = json.loads(path.read_text("utf-8"))
        log.watch_consumption(self.consumed)

    def committed(self, group: str, tp: TopicPartition) -> int | None:
        """The group's next offset to read in `tp`, if it ever committed one."""
        with self._lock:
            return self._groups.get(group, {}).get(f"{tp.topic}/{tp.partition}")

    def commit(self, group: str, offsets: Mapping[TopicPartition, int]) -> None:
        """Store the group's positions durably (write, fsync, rename)."""
        with self._lock:
            mine = dict(self._groups.get(group, {}))
            mine.update({f"{tp.topic}/{tp.partition}": at for tp, at in offsets.items()})
            path = self._folder / f"{group}.json"
            spare = path.with_suffix(".tmp")
            with spare.open("w", encoding="utf-8") as f:
                json.dump(mine, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(spare, path)
            self._groups[group] = mine

    def consumed(self, topic: str, partition: int) -> int | None:
        """How far the slowest group reading this partition has got; None if none reads it."""
        key = f"{topic}/{partition}"
        with self._lock:
            found = [g[key] for g in self._groups.values() if key in g]
        return min(found) if found else None


class LocalConsumer:
    """One group member reading every partition of its topics (the embedded mode has one)."""

    def __init__(
        self,
        log: LocalLog,
        groups: GroupOffsets,
        *topics: str,
        group_id: str | None,
        auto_offset_reset: Literal["earliest", "latest"] = "earliest",
        max_poll_records: int = 500,
    ) -> None:
        self._log = log
        self._groups = groups
        self._group = group_id
        self._max = max_poll_records
        self._position: dict[TopicPartition, int] = {}
        for topic in topics:
            for number in range(log.partitions):
                tp = TopicPartition(topic, number)
                start, end = log.bounds(topic, number)
                committed = None if group_id is None else groups.committed(group_id, tp)
                if committed is not None:
                    self._position[tp] = max(committed, start)
                else:
                    self._position[tp] = start if auto_offset_reset == "earliest" else end

    def _fetch(self) -> dict[TopicPartition, list[LogRecord]]:
        batches: dict[TopicPartition, list[LogRecord]] = {}
        room = self._max
        for tp, at in self._position.items():
            if room <= 0:
                break
            records = self._log.read(tp.topic, tp.partition, at, room)
            if records:
                batches[tp] = records
                self._position[tp] = records[-1].offset + 1
                room -= len(records)
        return batches

    def poll(self, timeout_ms: int = 0) -> dict[TopicPartition, list[LogRecord]]:
        """The next records of each partition; waits up to `timeout_ms` when there are none."""
        batches = self._fetch()
        if batches or timeout_ms <= 0:
            return batches
        with self._log.synced:
            self._log.synced.wait(timeout_ms / 1000)
        return self._fetch()

    def seek(self, tp: TopicPartition, offset: int) -> None:
        """Read `tp` from `offset` on at the next poll."""
        self._position[tp] = offset

    def commit(self, offsets: Mapping[TopicPartition, OffsetAndMetadata] | None = None) -> None:
        """Store the group's positions: the given ones, or everything polled so far."""
        if self._group is None:
            raise ValueError("committing offsets needs a consumer group")
        chosen = (
            {tp: meta.offset for tp, meta in offsets.items()}
            if offsets is not None
            else dict(self._position)
        )
        self._groups.commit(self._group, chosen)

    def close(self, autocommit: bool = False) -> None:
        """Nothing to release but the position, committed first if asked."""
        if autocommit and self._group is not None:
            self.commit()
