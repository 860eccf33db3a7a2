"""Records gridwatch writes to its own topics: routed events and dead letters."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridwatch.events import DeviceEvent, SourceKind
from gridwatch.incidents import IncidentCategory


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


ReporterRole = Literal["worker", "mediator", "supervisor", "operator", "citizen"]


class ReportFiled(_Record):
    """A person's report of an incident (value on `gridwatch.events`, keyed by cell id)."""

    schema_: Literal["gridwatch.report-filed/1"] = Field(
        "gridwatch.report-filed/1", alias="schema", description="Record schema and version."
    )
    report_id: str = Field(description="Unique id given when the report was accepted.")
    cell_id: str = Field(description="Grid cell holding the reported location.")
    category: IncidentCategory = Field(description="What the person reports.")
    note: str = Field(max_length=2000, description="What the person wrote.")
    lon: float = Field(description="WGS-84 longitude.")
    lat: float = Field(description="WGS-84 latitude.")
    photo: str | None = Field(None, description="Reference of an uploaded photo, if any.")
    reporter: str = Field(description="Account id of the reporter, or 'anonymous'.")
    reporter_role: ReporterRole = Field(description="Who filed it.")
    filed_at: AwareDatetime = Field(description="When the report was accepted.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def dedupe_key(self) -> str:
        """`report/<id>`: a re-sent report has the same key."""
        return f"report/{self.report_id}"


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
    "bad_status",
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
