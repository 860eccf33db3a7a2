"""Records about devices rather than what they saw: liveness and false-alarm adjustments."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridwatch.events import SourceKind


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DeviceStatus(_Record):
    """A device's own `online`/`offline` on its status topic (value on `gridwatch.findings`).

    Published by the bridge, keyed by county: status messages carry no location, so they go
    straight to the county-wide health tracker.
    """

    schema_: Literal["gridwatch.device-status/1"] = Field(
        "gridwatch.device-status/1", alias="schema", description="Record schema and version."
    )
    device_id: str = Field(description="The device.")
    source_kind: SourceKind = Field(description="sharp-eyes or blue-sky.")
    status: Literal["online", "offline"] = Field(description="What the device said.")
    received_at: AwareDatetime = Field(description="When the bridge received it.")


class DeviceSeen(_Record):
    """A device sent data from a known place (value on `gridwatch.findings`, keyed by county).

    The cell stage sends at most one a minute per device, so health tracking sees every
    device without seeing every event.
    """

    schema_: Literal["gridwatch.device-seen/1"] = Field(
        "gridwatch.device-seen/1", alias="schema", description="Record schema and version."
    )
    device_id: str = Field(description="The device.")
    source_kind: SourceKind = Field(description="sharp-eyes or blue-sky.")
    cell_id: str = Field(description="Cell of its latest event.")
    lon: float = Field(description="WGS-84 longitude of its latest event.")
    lat: float = Field(description="WGS-84 latitude of its latest event.")
    time: AwareDatetime = Field(description="Event time of its latest event.")


class Tick(_Record):
    """The passing of time, for rules that fire on silence (value on `gridwatch.findings`).

    Sent by the streams process's timer with the wall clock: the one place a clock is read,
    so the health rules stay pure functions of their input.
    """

    schema_: Literal["gridwatch.tick/1"] = Field(
        "gridwatch.tick/1", alias="schema", description="Record schema and version."
    )
    now: AwareDatetime = Field(description="Wall-clock time of the tick.")


class DeviceAdjusted(_Record):
    """A device's detections now need more (or again the usual) confirmation.

    Written by the cell stage when a person cancels an incident as a false alarm, when the
    adjustment runs out, or when an operator undoes it (value on `gridwatch.adjustments`,
    keyed by device id).
    """

    schema_: Literal["gridwatch.device-adjusted/1"] = Field(
        "gridwatch.device-adjusted/1", alias="schema", description="Record schema and version."
    )
    device_id: str = Field(description="The device.")
    cell_id: str = Field(description="Cell whose detectors apply it.")
    extra_confirmations: int = Field(ge=0, description="Confirmations needed beyond the usual.")
    until: AwareDatetime | None = Field(description="When it lapses; None once lifted.")
    false_alarms: int = Field(ge=0, description="False alarms counted for the device so far.")
    reason: str = Field(description="Why: the cancelled incident, or who lifted it.")
    at: AwareDatetime = Field(description="When the adjustment was decided.")


class AdjustmentRevoked(_Record):
    """An operator lifts a device's adjustment (value on `gridwatch.feedback`, keyed by cell)."""

    schema_: Literal["gridwatch.adjustment-revoked/1"] = Field(
        "gridwatch.adjustment-revoked/1", alias="schema", description="Record schema and version."
    )
    device_id: str = Field(description="The device.")
    cell_id: str = Field(description="Cell whose detectors apply its adjustment.")
    by: str = Field(description="Who lifted it.")
    at: AwareDatetime = Field(description="When.")
