"""Parsers of the records on each internal topic, told apart by their `schema` field."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from gridwatch.findings import Finding
from gridwatch.incidents import IncidentCleared, IncidentDetected, IncidentEnded
from gridwatch.records import ReportFiled, RoutedEvent

# gridwatch.events and gridwatch.feedback (both keyed by cell, read by the cell stage).
CellRecord = Annotated[RoutedEvent | ReportFiled | IncidentEnded, Field(discriminator="schema_")]
CELL_RECORD = TypeAdapter[CellRecord](CellRecord)

# gridwatch.findings (keyed by county, read by fusion): findings, and people's closings.
FusionRecord = Annotated[Finding | IncidentEnded, Field(discriminator="schema_")]
FUSION_RECORD = TypeAdapter[FusionRecord](FusionRecord)

# gridwatch.incidents (keyed by cell, read by the incident queues).
IncidentRecord = Annotated[IncidentDetected | IncidentCleared, Field(discriminator="schema_")]
INCIDENT_RECORD = TypeAdapter[IncidentRecord](IncidentRecord)
