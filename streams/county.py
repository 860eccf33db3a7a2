"""Stage two, per county: device health first, then fusion of every finding into incidents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gridwatch.detection_settings import DetectSettings
from gridwatch.devices import DeviceSeen, DeviceStatus, Tick
from streams.fusion import FusionInput, FusionState, IncidentRecord, fuse
from streams.health import DeviceChanges, DeviceHealth, HealthInput, HealthState, track

CountyInput = FusionInput | HealthInput


@dataclass(frozen=True)
class CountyStep:
    """What one record changed: each state (the same object if unchanged) and the output."""

    fusion: FusionState
    health: HealthState
    devices: DeviceChanges
    incidents: list[IncidentRecord]


def step_county(
    fusion: FusionState,
    health: HealthState,
    devices: Mapping[str, DeviceHealth],
    item: CountyInput,
    cfg: DetectSettings,
) -> CountyStep:
    """Feed one record of the findings topic: health tracking first, then fusion."""
    # Liveness and ticks go to the tracker; every finding, a detector's or the tracker's, to
    # fusion.
    changes: DeviceChanges = {}
    findings: list[FusionInput]
    if isinstance(item, DeviceSeen | DeviceStatus | Tick):
        health, changes, found = track(health, item, devices, cfg.health)
        findings = [*found]
    else:
        findings = [item]
    incidents: list[IncidentRecord] = []
    for finding in findings:
        fusion, records = fuse(fusion, finding, cfg.fusion)
        incidents.extend(records)
    return CountyStep(fusion=fusion, health=health, devices=changes, incidents=incidents)
