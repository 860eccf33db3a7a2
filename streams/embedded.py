"""The detectors of the embedded mode: the pipeline over the embedded log, its state on disk.

What faust does with Kafka, done here in one thread: read events, feedback and device
statuses in a consumer group, run both stages (`streams.runner.Pipeline`, the same pure steps
as faust's agents), append incidents and adjustments, and keep the state. After each batch the
outputs are made durable first, then the state is written with the offsets it has seen (one
file, replaced atomically), then the group commits. A crash replays from the kept state's
offsets: the outputs of the replayed records are appended again, which their deterministic
ids make harmless, as with faust at least once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from kafka import OffsetAndMetadata, TopicPartition
from pydantic import TypeAdapter, ValidationError

from gridwatch.devices import DeviceStatus
from gridwatch.grid.model import Grid
from gridwatch.ports import ConsumedRecord, RecordSink, SourceFactory
from gridwatch.settings import Settings
from gridwatch.wire import CELL_RECORD
from streams.dead_letters import unreadable
from streams.fusion import IncidentRecord
from streams.runner import Pipeline, PipelineState

log = logging.getLogger(__name__)
STATUS = TypeAdapter[DeviceStatus](DeviceStatus)
# Longest wait for the log to make a batch's outputs durable before the state may be kept.
FLUSH_TIMEOUT_S = 30.0


class EmbeddedStreams:
    """One thread running both stages over the embedded log until `stop()`."""

    def __init__(
        self,
        settings: Settings,
        grid: Grid,
        *,
        sources: SourceFactory,
        sink: RecordSink,
        state_file: Path,
    ) -> None:
        kafka = settings.kafka
        self._topics = {n: kafka.topic(n) for n in ("events", "feedback", "findings")}
        self._incidents = kafka.topic("incidents")
        self._adjustments = kafka.topic("adjustments")
        self._deadletter = kafka.topic("deadletter")
        self._group = f"{kafka.topic_prefix}-streams"
        self._tick_s = settings.detect.health.tick_s
        self._sources = sources
        self._sink = sink
        self._state_file = state_file
        self.pipeline = Pipeline(settings.detect, grid)
        self._failures: list[BaseException] = []
        self._stop = threading.Event()
        # For the status line, replaced whole after each batch (read from another thread).
        self.records_read = 0
        self.devices_online = 0

    def _send(self, topic: str, key: str, value: bytes) -> None:
        self._sink.send(topic, key.encode(), value, self._refused)

    def _refused(self, exc: BaseException | None) -> None:
        if exc is not None:
            self._failures.append(exc)

    def _emit(self, incidents: list[IncidentRecord]) -> None:
        for record in incidents:
            self._send(
                self._incidents, record.cell_id, record.model_dump_json(by_alias=True).encode()
            )
        for adjusted in self.pipeline.adjusted:
            value = adjusted.model_dump_json(by_alias=True).encode()
            self._send(self._adjustments, adjusted.device_id, value)
        self.pipeline.adjusted.clear()

    def _feed(self, record: ConsumedRecord) -> None:
        """One record through the pipeline, or to the dead letters if it is none of ours."""
        try:
            parsed = (
                STATUS.validate_json(record.value)
                if record.topic == self._topics["findings"]
                else CELL_RECORD.validate_json(record.value)
            )
        except ValidationError as exc:
            letter = unreadable(b"", record.value, record.topic, exc)
            self._send(
                self._deadletter, record.topic, letter.model_dump_json(by_alias=True).encode()
            )
            return
        self._emit(self.pipeline.feed(parsed))
        self.records_read += 1

    def _restore(self) -> dict[TopicPartition, int]:
        """The kept state into the pipeline; the offsets it had seen."""
        if not self._state_file.exists():
            return {}
        kept = json.loads(self._state_file.read_text("utf-8"))
        self.pipeline.restore(PipelineState.model_validate(kept["state"]))
        return {
            TopicPartition(topic, int(number)): offset
            for key, offset in kept["offsets"].items()
            for topic, number in [key.rsplit("/", 1)]
        }

    def _keep(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Write the state and its offsets in one file, replaced atomically."""
        doc = {
            "state": self.pipeline.state.model_dump(mode="json"),
            "offsets": {f"{tp.topic}/{tp.partition}": at for tp, at in offsets.items()},
        }
        spare = self._state_file.with_suffix(".tmp")
        with spare.open("w", encoding="utf-8") as f:
            json.dump(doc, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(spare, self._state_file)

    def run(self) -> None:
        """Read, detect, append, keep; tick the health tracker every `tick_s`."""
        offsets = self._restore()
        consumer = self._sources(list(self._topics.values()), self._group, "gridwatch-streams", 500)
        for tp, at in offsets.items():
            consumer.seek(tp, at)
        next_tick = time.monotonic()
        try:
            while not self._stop.is_set():
                batches = consumer.poll(timeout_ms=500)
                for tp, records in batches.items():
                    for record in records:
                        self._feed(record)
                        offsets[tp] = record.offset + 1
                ticked = time.monotonic() >= next_tick
                if ticked:
                    self._emit(self.pipeline.tick(datetime.now(UTC)))
                    next_tick = time.monotonic() + self._tick_s
                if batches or ticked:
                    self._sink.flush(FLUSH_TIMEOUT_S)
                    if self._failures:
                        # Keep nothing past what the log refused: a restart replays it.
                        raise RuntimeError(f"the log refused a record: {self._failures[0]!r}")
                    self._keep(offsets)
                    self.devices_online = sum(
                        1
                        for d in self.pipeline.devices.values()
                        if not d.silent and d.offline_at is None
                    )
                    consumer.commit(
                        {tp: OffsetAndMetadata(at, "", -1) for tp, at in offsets.items()}
                    )
        finally:
            consumer.close(autocommit=False)

    def stop(self) -> None:
        """Ask `run` to return after the batch in hand."""
        self._stop.set()
