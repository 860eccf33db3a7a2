"""The false-alarm loop in one cell: devices behind cancelled incidents need more confirmation.

Pure functions over a cell's `FeedbackState`; time comes from the records (an ending's
`ended_at`, a revocation's `at`, the event time handed to `extra_at` and `lapse`).

A device's false-alarm count survives a revocation and a lapse: it is the device's history
(shown to operators and carried on every `DeviceAdjusted`), while the penalty itself starts
again from zero. Only eviction under the per-cell cap forgets it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridwatch.detection_settings import FeedbackSettings
from gridwatch.devices import AdjustmentRevoked, DeviceAdjusted
from gridwatch.incidents import IncidentEnded

# People's reports carry `report:<account>` (often the shared `report:anonymous`): a person
# is not a sensor to be tuned, and penalising the shared id would silence every citizen.
REPORT_PREFIX = "report:"
# Ids of endings already applied, per cell: enough for years of one cell's false alarms.
MAX_APPLIED = 1024
# Devices remembered per cell; beyond it, lifted entries go first, oldest first.
MAX_DEVICES = 512
# The person's reason is kept in the store in full; the adjustment quotes its start.
REASON_QUOTE = 200


class Penalty(BaseModel):
    """One device's adjustment: extra confirmations until a time, and its false alarms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    extra_confirmations: int = Field(0, ge=0, description="Confirmations needed beyond the usual.")
    until: AwareDatetime | None = Field(None, description="When it lapses; None when lifted.")
    false_alarms: int = Field(0, ge=0, description="False alarms counted so far.")
    reason: str = Field("", description="Why it stands as it does.")
    at: AwareDatetime = Field(description="When it was last decided (never goes back).")


class FeedbackState(BaseModel):
    """A cell's adjustments per device, and the endings already applied (stored as JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    devices: dict[str, Penalty] = Field(default_factory=dict)
    applied: dict[str, AwareDatetime] = Field(
        default_factory=dict, description="Incident id to ended_at of endings applied."
    )
    floor: AwareDatetime | None = Field(
        None,
        description="Endings at or before this are ignored: ids that old were forgotten, so "
        "a redelivery could not be told from a new ending.",
    )


def _adjusted(device_id: str, cell_id: str, penalty: Penalty) -> DeviceAdjusted:
    return DeviceAdjusted(device_id=device_id, cell_id=cell_id, **penalty.model_dump())


def _later(at: datetime, before: Penalty | None) -> datetime:
    # The store keeps the newest `at` per device, so a decision must never carry an older one
    # (a late ending after a lapse would otherwise be shadowed by the lapse row).
    return at if before is None else max(at, before.at)


def _bounded_devices(devices: dict[str, Penalty]) -> dict[str, Penalty]:
    if len(devices) <= MAX_DEVICES:
        return devices
    ranked = sorted(devices.items(), key=lambda kv: (kv[1].extra_confirmations > 0, kv[1].at))
    return dict(ranked[-MAX_DEVICES:])


def _remember(
    state: FeedbackState, incident_id: str, at: datetime
) -> tuple[dict[str, datetime], datetime | None]:
    applied = {**state.applied, incident_id: at}
    floor = state.floor
    if len(applied) > MAX_APPLIED:
        ranked = sorted(applied.items(), key=lambda kv: kv[1])
        dropped, kept = ranked[:-MAX_APPLIED], ranked[-MAX_APPLIED:]
        newest_dropped = max(t for _id, t in dropped)
        floor = newest_dropped if floor is None else max(floor, newest_dropped)
        applied = dict(kept)
    return applied, floor


def on_ended(
    state: FeedbackState, ended: IncidentEnded, cfg: FeedbackSettings
) -> tuple[FeedbackState, list[DeviceAdjusted]]:
    """Penalise the devices of an incident cancelled as a false alarm (once per incident)."""
    if not ended.false_alarm or ended.incident_id in state.applied:
        return state, []
    if state.floor is not None and ended.ended_at <= state.floor:
        return state, []
    at = ended.ended_at
    until = at + timedelta(seconds=cfg.penalty_s)
    quote = ended.reason[:REASON_QUOTE]
    reason = f"incident {ended.incident_id} cancelled as a false alarm: {quote}"
    devices = dict(state.devices)
    out: list[DeviceAdjusted] = []
    for device_id in dict.fromkeys(ended.devices):
        if device_id.startswith(REPORT_PREFIX):
            continue
        before = devices.get(device_id)
        # A penalty already past its time counts for nothing, lapsed on the record or not.
        running = before is not None and before.until is not None and before.until > at
        base = before.extra_confirmations if before is not None and running else 0
        penalty = Penalty(
            extra_confirmations=min(cfg.max_extra, base + cfg.extra_per_false_alarm),
            until=until,
            false_alarms=(before.false_alarms if before is not None else 0) + 1,
            reason=reason,
            at=_later(at, before),
        )
        devices[device_id] = penalty
        out.append(_adjusted(device_id, ended.cell_id, penalty))
    applied, floor = _remember(state, ended.incident_id, at)
    new = FeedbackState(devices=_bounded_devices(devices), applied=applied, floor=floor)
    return new, out


def _lifted(
    state: FeedbackState, lift: dict[str, Penalty], cell_id: str
) -> tuple[FeedbackState, list[DeviceAdjusted]]:
    if not lift:
        return state, []
    new = state.model_copy(update={"devices": {**state.devices, **lift}})
    return new, [_adjusted(device_id, cell_id, p) for device_id, p in lift.items()]


def on_revoked(
    state: FeedbackState, revoked: AdjustmentRevoked
) -> tuple[FeedbackState, list[DeviceAdjusted]]:
    """Lift a device's adjustment as it stands now; its false-alarm count is kept."""
    before = state.devices.get(revoked.device_id)
    if before is None or before.extra_confirmations == 0:
        return state, []
    lifted = before.model_copy(
        update={
            "extra_confirmations": 0,
            "until": None,
            "reason": f"lifted by {revoked.by}",
            "at": _later(revoked.at, before),
        }
    )
    return _lifted(state, {revoked.device_id: lifted}, revoked.cell_id)


def extra_at(state: FeedbackState, now: datetime) -> dict[str, int]:
    """Extra confirmations in force at `now` (an event time), per device."""
    return {
        device_id: p.extra_confirmations
        for device_id, p in state.devices.items()
        if p.extra_confirmations > 0 and p.until is not None and p.until > now
    }


def lapse(
    state: FeedbackState, now: datetime, *, cell_id: str
) -> tuple[FeedbackState, list[DeviceAdjusted]]:
    """End the adjustments whose time is up at `now`, so the store shows them lifted."""
    lift = {}
    for device_id, p in state.devices.items():
        if p.extra_confirmations > 0 and p.until is not None and p.until <= now:
            # Dated when it ran out, not when it was noticed: the same on every replay.
            at = _later(p.until, p)
            update = {"extra_confirmations": 0, "until": None, "reason": "lapsed", "at": at}
            lift[device_id] = p.model_copy(update=update)
    return _lifted(state, lift, cell_id)
