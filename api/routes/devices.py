"""Devices' false-alarm feedback: adjustments operators can see and undo, false-alarm rates."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.deps import ConnDep, SettingsDep, SinkDep, client_address, require_roles
from api.errors import ApiError
from api.publish import publish_or_503
from api.schemas import AdjustmentPage, AdjustmentRead, DeviceRead, DeviceStats
from gridwatch.accounts import User
from gridwatch.devices import AdjustmentRevoked
from gridwatch.store.devices import device_stats, get_adjustment, list_adjustments
from gridwatch.store.users import record_audit

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/devices", tags=["devices"])

# An operator at a desk waits for the answer; past this the API stops waiting for Kafka.


OperatorDep = Annotated[User, Depends(require_roles("supervisor", "operator", "admin"))]


def _adjustment(row: dict[str, Any], now: datetime) -> AdjustmentRead:
    until = row["until"]
    active = row["extra_confirmations"] > 0 and until is not None and until > now
    return AdjustmentRead.model_validate(row | {"active": active})


@router.get("/adjustments", response_model=AdjustmentPage, summary="Devices' adjustments")
async def read_adjustments(
    conn: ConnDep,
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
    operator: OperatorDep,
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
