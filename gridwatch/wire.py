"""Parsers of the records on each internal topic, told apart by their `schema` field."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from gridwatch.devices import AdjustmentRevoked, DeviceAdjusted, DeviceSeen, DeviceStatus, Tick
from gridwatch.findings import Finding
from gridwatch.incidents import IncidentCleared, IncidentDetected, IncidentEnded
from gridwatch.records import ReportFiled, RoutedEvent

# gridwatch.events and gridwatch.feedback (both keyed by cell, read by the cell stage).
CellRecord = Annotated[
    RoutedEvent | ReportFiled | IncidentEnded | AdjustmentRevoked, Field(discriminator="schema_")
]
CELL_RECORD = TypeAdapter[CellRecord](CellRecord)

# gridwatch.findings (keyed by county, read by fusion): findings, people's closings, and what
# the health tracker reads: devices seen sending, their own statuses, and the clock's ticks.
FusionRecord = Annotated[
    Finding | IncidentEnded | DeviceSeen | DeviceStatus | Tick, Field(discriminator="schema_")
]
FUSION_RECORD = TypeAdapter[FusionRecord](FusionRecord)

# gridwatch.feedback alone (the store's view of it): people's endings, operators' undos.
FeedbackRecord = Annotated[IncidentEnded | AdjustmentRevoked, Field(discriminator="schema_")]
FEEDBACK_RECORD = TypeAdapter[FeedbackRecord](FeedbackRecord)

# gridwatch.adjustments (keyed by device, read by the store).
ADJUSTMENT_RECORD = TypeAdapter[DeviceAdjusted](DeviceAdjusted)

# gridwatch.incidents (keyed by cell, read by the incident queues).
IncidentRecord = Annotated[IncidentDetected | IncidentCleared, Field(discriminator="schema_")]
INCIDENT_RECORD = TypeAdapter[IncidentRecord](IncidentRecord)
