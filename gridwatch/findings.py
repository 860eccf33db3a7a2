"""Findings: what a cell's detectors conclude, before fusion turns them into incidents."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridwatch.incidents import Evidence, IncidentCategory, IncidentKind, Severity

FindingAction = Literal["raise", "clear"]


class Finding(BaseModel):
    """A detector's conclusion about one cell (value on `gridwatch.findings`, keyed by county).

    `raise` says "this is happening" with the evidence for it; fusion opens an incident or
    attaches the evidence to one already open nearby. `clear` says "it stopped" (air back to
    normal, a silent device heard again); fusion clears the incident that `source_key` raised.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["gridwatch.finding/1"] = Field(
        "gridwatch.finding/1", alias="schema", description="Record schema and version."
    )
    action: FindingAction = Field("raise", description="raise or clear.")
    detector: str = Field(description="Rule and version, e.g. air/1.")
    kind: IncidentKind = Field(description="hazard, dispute or maintenance.")
    category: IncidentCategory = Field(description="What was found.")
    severity: Severity = Field(description="How bad, by the detector's own measure.")
    cell_id: str = Field(description="Cell where it happens.")
    time: AwareDatetime = Field(description="Event time of the newest evidence.")
    lon: float = Field(description="WGS-84 longitude.")
    lat: float = Field(description="WGS-84 latitude.")
    opening_key: str = Field(
        description="Deterministic key of the triggering event (device/id): the same input "
        "gives the same key, so replays give the same incident id."
    )
    source_key: str = Field(
        description="What raised it (a device, a station): a later clear names the same key."
    )
    evidence: list[Evidence] = Field(
        default_factory=list, description="Events supporting it (empty for a clear)."
    )
    note: str = Field("", max_length=500, description="Human summary, e.g. AQI 182 (PM2.5).")
