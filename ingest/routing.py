"""What one device message becomes on the log: an event, a status, or a dead letter with why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gridwatch.devices import DeviceStatus
from gridwatch.grid.model import Grid
from gridwatch.records import DeadLetter, RoutedEvent
from gridwatch.rejections import Rejection
from gridwatch.settings import KafkaSettings
from ingest.validate import DEVICE_TOPIC, STATUS_TOPIC, route_message, route_status


@dataclass(frozen=True)
class LogRecord:
    """The record to append, and the refusal when it is a dead letter."""

    topic: str
    key: bytes
    value: bytes
    device: str
    rejection: Rejection | None


class Router:
    """Validates and places device messages; shared by the bridge and the embedded broker."""

    def __init__(self, kafka: KafkaSettings, grid: Grid, *, rejected_by: str) -> None:
        self._events = kafka.topic("events")
        self._findings = kafka.topic("findings")
        self._deadletter = kafka.topic("deadletter")
        self._grid = grid
        self._rejected_by = rejected_by

    def route(self, topic: str, payload: bytes, *, received_at: datetime) -> LogRecord:
        """The record a message from `topic` becomes."""
        routed: RoutedEvent | DeviceStatus | Rejection
        if STATUS_TOPIC.match(topic):
            routed = route_status(topic, payload, received_at=received_at)
        else:
            routed = route_message(topic, payload, grid=self._grid, received_at=received_at)
        if isinstance(routed, Rejection):
            match = DEVICE_TOPIC.match(topic)
            device = match.group(2) if match else topic
            letter = DeadLetter.of(
                code=routed.code,
                reason=routed.reason,
                topic=topic,
                payload=payload,
                received_at=received_at,
                rejected_by=self._rejected_by,
            )
            value = letter.model_dump_json(by_alias=True).encode()
            return LogRecord(self._deadletter, device.encode(), value, device, routed)
        # A status has no location: it goes straight to the county-wide health tracker.
        target, key = (
            (self._findings, self._grid.county)
            if isinstance(routed, DeviceStatus)
            else (self._events, routed.cell_id)
        )
        value = routed.model_dump_json(by_alias=True).encode()
        return LogRecord(target, key.encode(), value, routed.device_id, None)
