"""Records gridwatch writes to its own topics: routed events and dead letters."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridwatch.events import DeviceEvent, SourceKind


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoutedEvent(_Record):
    """A validated device event placed in its grid cell (value on `gridwatch.events`)."""

    schema_: Literal["gridwatch.routed-event/1"] = Field(
        "gridwatch.routed-event/1", alias="schema", description="Record schema and version."
    )
    cell_id: str = Field(description="Grid cell holding the event's location (the record key).")
    device_id: str = Field(description="Device that published the event.")
    source_kind: SourceKind = Field(description="sharp-eyes or blue-sky.")
    lon: float = Field(description="WGS-84 longitude of the event.")
    lat: float = Field(description="WGS-84 latitude of the event.")
    received_at: AwareDatetime = Field(description="When the bridge received the message.")
    event: DeviceEvent = Field(description="The device's CloudEvent as published.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def dedupe_key(self) -> str:
        """`device/id` of the carried event."""
        return self.event.dedupe_key


RejectCode = Literal[
    "not_json",
    "not_object",
    "bad_topic",
    "missing_field",
    "unknown_type",
    "invalid_field",
    "source_mismatch",
    "type_mismatch",
    "no_location",
    "outside_grid",
    "too_large",
]


class DeadLetter(_Record):
    """A message that was not accepted, with why (value on `gridwatch.deadletter`)."""

    schema_: Literal["gridwatch.deadletter/1"] = Field(
        "gridwatch.deadletter/1", alias="schema", description="Record schema and version."
    )
    code: RejectCode = Field(description="Machine-readable reason.")
    reason: str = Field(description="Human-readable reason naming the offending field.")
    topic: str = Field(description="The MQTT or Kafka topic the message arrived on.")
    payload_b64: str = Field(description="The original payload bytes, base64.")
    received_at: AwareDatetime = Field(description="When the bridge received the message.")
    rejected_by: str = Field(description="The process that refused it (bridge client id, ...).")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @classmethod
    def of(
        cls,
        *,
        code: RejectCode,
        reason: str,
        topic: str,
        payload: bytes,
        received_at: datetime,
        rejected_by: str,
    ) -> DeadLetter:
        """Build a dead letter around the original bytes."""
        return cls(
            code=code,
            reason=reason,
            topic=topic,
            payload_b64=base64.b64encode(payload).decode("ascii"),
            received_at=received_at,
            rejected_by=rejected_by,
        )

    @property
    def payload(self) -> bytes:
        """The original payload bytes."""
        return base64.b64decode(self.payload_b64)
