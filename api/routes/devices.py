"""Devices: health for the console's map, false-alarm adjustments to see and undo, rates."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ConnDep, DeskUser, SettingsDep, SinkDep, client_address
from api.errors import ApiError
from api.publish import publish_or_503
from api.schemas import AdjustmentPage, AdjustmentRead, DeviceRead, DeviceStats, Point
from gridwatch.device_health import Health, health_of
from gridwatch.devices import AdjustmentRevoked
from gridwatch.store.device_health import list_devices
from gridwatch.store.devices import device_stats, get_adjustment, list_adjustments
from gridwatch.store.users import record_audit

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/devices", tags=["devices"])

# The map lists devices heard within a day, so a device taken out of service leaves it; one
# quiet for longer is still listed while the no-signal rule keeps an incident open on it.
HEARD_WITHIN = timedelta(days=1)


class DeviceHealthRead(BaseModel):
    """A device on the map: where its newest event came from, and its health."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str
    source_kind: str | None = Field(description="sharp-eyes or blue-sky; null if no event kept.")
    last_type: str | None = Field(description="Type of its newest event (blue-sky.air: a station).")
    cell_id: str
    location: Point = Field(description="Of its newest event, else of its no-signal evidence.")
    last_event_at: datetime | None = Field(description="Device clock of its newest event.")
    last_heard_at: datetime | None = Field(description="When the platform received it.")
    health: Health = Field(description="online, silent (stopped sending) or offline (said so).")
    incident_id: str | None = Field(description="The open no-signal incident naming it, if any.")


class DeviceHealthPage(BaseModel):
    """Devices by id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: list[DeviceHealthRead]
    count: int


def _health(row: dict[str, Any]) -> DeviceHealthRead:
    health = health_of(
        flag=row["flag"],
        flagged_at=row["flagged_at"],
        last_time=row["last_time"],
        last_received_at=row["last_received_at"],
    )
    return DeviceHealthRead(
        device_id=row["device_id"],
        source_kind=row["source_kind"],
        last_type=row["last_type"],
        cell_id=row["cell_id"],
        location=Point(lat=row["lat"], lon=row["lon"]),
        last_event_at=row["last_time"],
        last_heard_at=row["last_received_at"],
        health=health,
        incident_id=None if health == "online" else row["incident_id"],
    )


@router.get("", response_model=DeviceHealthPage, summary="Devices with their health")
async def read_devices(
    conn: ConnDep,
    _desk: DeskUser,
    limit: Annotated[int, Query(ge=1, le=20000, description="At most this many.")] = 5000,
) -> DeviceHealthPage:
    """Devices heard in the last day or flagged by the no-signal rule, by id."""
    since = datetime.now(UTC) - HEARD_WITHIN
    rows = await list_devices(conn, since=since, limit=limit)
    items = [_health(row) for row in rows]
    return DeviceHealthPage(items=items, count=len(items))


def _adjustment(row: dict[str, Any], now: datetime) -> AdjustmentRead:
    until = row["until"]
    active = row["extra_confirmations"] > 0 and until is not None and until > now
    return AdjustmentRead.model_validate(row | {"active": active})


@router.get("/adjustments", response_model=AdjustmentPage, summary="Devices' adjustments")
async def read_adjustments(
    conn: ConnDep,
    _desk: DeskUser,
    active: Annotated[
        bool, Query(description="Only those in force now; false: lifted ones too.")
    ] = True,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many.")] = 100,
) -> AdjustmentPage:
    """False-alarm adjustments, most recently decided first."""
    now = datetime.now(UTC)
    rows = await list_adjustments(conn, active_at=now if active else None, limit=limit)
    items = [_adjustment(row, now) for row in rows]
    return AdjustmentPage(items=items, count=len(items))


@router.get("/{device_id}", response_model=DeviceRead, summary="A device's feedback")
async def read_device(
    conn: ConnDep,
    _desk: DeskUser,
    device_id: str,
    since: Annotated[
        datetime | None, Query(description="Count incidents from this time on; all time if absent.")
    ] = None,
) -> DeviceRead:
    """A device's adjustment and false-alarm rate; a device with no history has zeros."""
    row = await get_adjustment(conn, device_id)
    stats = await device_stats(conn, device_id, since=since)
    adjustment = _adjustment(row, datetime.now(UTC)) if row is not None else None
    return DeviceRead(
        device_id=device_id,
        adjustment=adjustment,
        stats=DeviceStats.model_validate(stats | {"since": since}),
    )


@router.delete(
    "/{device_id}/adjustment",
    status_code=202,
    response_model=AdjustmentRevoked,
    summary="Lift a device's adjustment",
)
async def revoke_adjustment(
    request: Request,
    conn: ConnDep,
    sink: SinkDep,
    settings: SettingsDep,
    operator: DeskUser,
    device_id: str,
) -> AdjustmentRevoked:
    """Ask the device's cell to lift it; accepted once the event log has the request."""
    row = await get_adjustment(conn, device_id)
    if row is None or row["extra_confirmations"] == 0:
        raise ApiError(404, "no_adjustment", f"device {device_id!r} has no adjustment to lift")
    revoked = AdjustmentRevoked(
        device_id=device_id, cell_id=row["cell_id"], by=operator.id, at=datetime.now(UTC)
    )
    value = revoked.model_dump_json(by_alias=True).encode()
    topic = settings.kafka.topic("feedback")
    # A second lift of the same adjustment does nothing, so trying again is always safe.
    await publish_or_503(sink, topic, revoked.cell_id.encode(), value, what="lift request")
    await record_audit(
        conn,
        actor=operator.id,
        action="device.adjustment.lift",
        target=f"device:{device_id}",
        detail={"cell_id": revoked.cell_id},
        client=client_address(request),
    )
    log.info(
        "device_id=%s cell_id=%s: lift requested by %s", device_id, revoked.cell_id, operator.id
    )
    return revoked
