"""Device health: a device silent for longer than it should be is a maintenance finding.

The rules (pure: the only clock is the `Tick` records the streams process sends):
- A device is *heard* when a DeviceSeen (it sent located data) or a DeviceStatus of it
  arrives. It is heard at the tracker's clock, the newest tick's time (the record's own time
  before the first tick): device clocks are often wrong, and one an hour fast must neither
  hide its own silence nor make every other device look silent.
- On each tick, a device with a place (a cell, from its latest DeviceSeen) is silent once
  `interval × missed_intervals` has passed since it was heard (interval by source kind);
  one that said `offline` is silent one interval after it said so (no heartbeat jitter to
  allow for, but a reconnect deserves a moment). Exactly at the limit it is not yet silent.
- Silence counts from `watching_since` at the earliest: the first tick after a gap of more
  than two tick intervals. A restarted streams process thus gives every device a full limit
  to be heard again before the events it missed meanwhile come through.
- Going silent raises one `no_signal` finding with the device's last message as evidence;
  being heard again (data, or `online`) clears it, and fusion clears the incident once every
  device that raised it is back. A device never placed in a cell raises nothing.
- A device not heard for FORGET_AFTER is forgotten (cleared first if it had raised), so the
  state holds only devices heard within that time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridwatch.detection_settings import HealthSettings
from gridwatch.devices import DeviceSeen, DeviceStatus, Tick
from gridwatch.events import SourceKind
from gridwatch.findings import Finding, FindingAction
from gridwatch.incidents import Evidence, Severity

DETECTOR = "health/1"
FORGET_AFTER = timedelta(days=30)
# Ticks further apart than this many tick intervals mean the tracker was not running.
GAP_TICKS = 2

HealthInput = DeviceSeen | DeviceStatus | Tick


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Place(_Frozen):
    """Where a device's latest located data came from."""

    cell_id: str
    lon: float
    lat: float
    time: AwareDatetime = Field(description="Event time (device clock) of that data.")


class DeviceHealth(_Frozen):
    """What the tracker knows of one device (a table value, stored as JSON)."""

    source_kind: SourceKind
    heard_at: AwareDatetime = Field(description="Tracker clock when it was last heard.")
    place: Place | None = Field(None, description="None while known only from its status.")
    offline_at: AwareDatetime | None = Field(None, description="When it said offline, if so.")
    silent: bool = Field(False, description="A no_signal finding was raised and not cleared.")


class HealthState(_Frozen):
    """A county's tracker clock (a table value, stored as JSON)."""

    now: AwareDatetime | None = Field(None, description="Time of the newest tick.")
    watching_since: AwareDatetime | None = Field(
        None, description="First tick after the latest gap: silence counts from here at most."
    )


DeviceChanges = dict[str, DeviceHealth | None]  # device id → new record, or None: forget it


def _stamp(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def interval_of(kind: SourceKind, cfg: HealthSettings) -> timedelta:
    """Longest expected gap between two messages of a device of this kind."""
    seconds = cfg.sharp_eyes_interval_s if kind == "sharp-eyes" else cfg.blue_sky_interval_s
    return timedelta(seconds=seconds)


def _finding(
    device_id: str,
    place: Place,
    *,
    action: FindingAction,
    at: datetime,
    opening_key: str,
    note: str,
    evidence: list[Evidence] | None = None,
) -> Finding:
    return Finding(
        action=action,
        detector=DETECTOR,
        kind="maintenance",
        category="no_signal",
        severity=Severity.LOW,
        cell_id=place.cell_id,
        time=at,
        lon=place.lon,
        lat=place.lat,
        opening_key=opening_key,
        source_key=device_id,
        evidence=evidence or [],
        note=note,
    )


def _clear(device_id: str, place: Place, at: datetime, note: str) -> Finding:
    key = f"{device_id}/heard@{at.isoformat()}"
    return _finding(device_id, place, action="clear", at=at, opening_key=key, note=note)


def _hear(
    state: HealthState, device_id: str, device: DeviceHealth | None, item: DeviceSeen | DeviceStatus
) -> tuple[DeviceHealth, list[Finding]]:
    """The device after this message; a clear if it had gone silent and is back."""
    at = state.now or (item.time if isinstance(item, DeviceSeen) else item.received_at)
    offline = isinstance(item, DeviceStatus) and item.status == "offline"
    place = device.place if device is not None else None
    if isinstance(item, DeviceSeen):
        place = Place(cell_id=item.cell_id, lon=item.lon, lat=item.lat, time=item.time)
    offline_at = None
    if offline:
        offline_at = device.offline_at if device is not None and device.offline_at else at
    was_silent = device is not None and device.silent
    heard = DeviceHealth(
        source_kind=item.source_kind,
        heard_at=at,
        place=place,
        offline_at=offline_at,
        silent=was_silent and offline,
    )
    if device is not None and heard == device:
        return device, []
    if device is None or device.place is None or not was_silent or offline:
        return heard, []
    return heard, [_clear(device_id, device.place, at, f"{device_id} heard again {_stamp(at)}")]


def _silence(
    device_id: str, device: DeviceHealth, place: Place, now: datetime, cfg: HealthSettings
) -> Finding:
    interval = interval_of(device.source_kind, cfg)
    if device.offline_at is not None:
        note = f"{device_id} offline since {_stamp(device.offline_at)} (it said so)"
        evidence_id, evidence_type, evidence_time = (
            f"offline@{device.offline_at.isoformat()}",
            "device.status",
            device.offline_at,
        )
    else:
        missed = int((now - device.heard_at) / interval)
        note = (
            f"{device_id} silent since {_stamp(device.heard_at)} "
            f"({missed} heartbeats of {interval.total_seconds():.0f} s missed)"
        )
        evidence_id, evidence_type, evidence_time = (
            f"seen@{place.time.isoformat()}",
            "device.seen",
            place.time,
        )
    last = Evidence(
        device_id=device_id,
        event_id=evidence_id,
        type=evidence_type,
        time=evidence_time,
        confidence=1.0,
        lon=place.lon,
        lat=place.lat,
    )
    key = f"{device_id}/silent@{device.heard_at.isoformat()}"
    return _finding(
        device_id, place, action="raise", at=now, opening_key=key, note=note, evidence=[last]
    )


def _judge(
    device_id: str, device: DeviceHealth, now: datetime, since: datetime, cfg: HealthSettings
) -> tuple[DeviceHealth | None, list[Finding]]:
    """The device at this tick: unchanged, newly silent (with its finding) or forgotten."""
    place = device.place
    if now - device.heard_at > FORGET_AFTER:
        if not device.silent or place is None:
            return None, []
        days = FORGET_AFTER.days
        return None, [_clear(device_id, place, now, f"{device_id} silent {days} days: unwatched")]
    if device.silent or place is None:
        return device, []
    interval = interval_of(device.source_kind, cfg)
    if device.offline_at is not None:
        start, allowed = device.offline_at, interval
    else:
        start, allowed = device.heard_at, interval * cfg.missed_intervals
    if now - max(start, since) <= allowed:
        return device, []
    silent = device.model_copy(update={"silent": True})
    return silent, [_silence(device_id, device, place, now, cfg)]


def _tick(
    state: HealthState, now: datetime, devices: Mapping[str, DeviceHealth], cfg: HealthSettings
) -> tuple[HealthState, DeviceChanges, list[Finding]]:
    if state.now is not None and now <= state.now:
        # A repeated or late tick: the clock never goes back.
        return state, {}, []
    gap = state.now is None or now - state.now > timedelta(seconds=GAP_TICKS * cfg.tick_s)
    since = now if gap or state.watching_since is None else state.watching_since
    changes: DeviceChanges = {}
    findings: list[Finding] = []
    # In id order, so the device that opens a shared incident (and so its id) is the same in
    # every run mode and on every replay.
    for device_id in sorted(devices):
        device = devices[device_id]
        judged, found = _judge(device_id, device, now, since, cfg)
        if judged is not device:
            changes[device_id] = judged
        findings.extend(found)
    return HealthState(now=now, watching_since=since), changes, findings


def track(
    state: HealthState, item: HealthInput, devices: Mapping[str, DeviceHealth], cfg: HealthSettings
) -> tuple[HealthState, DeviceChanges, list[Finding]]:
    """Feed a county's liveness record or tick; return its clock, changed devices, findings."""
    # `devices` is the county's records by device id; the caller stores the changes (None:
    # delete it) and hands the findings to fusion.
    if isinstance(item, Tick):
        return _tick(state, item.now, devices, cfg)
    device = devices.get(item.device_id)
    heard, findings = _hear(state, item.device_id, device, item)
    return state, ({} if heard is device else {item.device_id: heard}), findings
