"""Air-quality trends of Blue Sky stations from their stored readings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ConnDep, DeskUser
from api.errors import ApiError
from api.kpi_schemas import AirPoint, AirTrend
from api.routes.kpis import FromQuery, ToQuery, refusals
from gridwatch.kpis import BUCKET_SIZE, LOCAL, Bucket, bucket_starts, window
from gridwatch.store.air import POLLUTANTS, air_means, has_air
from streams.detectors.aqi import aqi, standard_at

router = APIRouter(prefix="/v1/air", tags=["air"])


def air_point(row: dict[str, Any]) -> AirPoint:
    """One bucket's means, judged by the edition of HJ 633 in force at the bucket's start."""
    means = {p: row[p] for p in POLLUTANTS if row[p] is not None}
    judged = aqi(means, standard_at(row["start"]))
    return AirPoint(
        start=row["start"].astimezone(LOCAL),
        readings=row["readings"],
        **{p: None if row[p] is None else round(row[p], 2) for p in POLLUTANTS},
        aqi=judged.aqi,
        primary=list(judged.primary),
        level=judged.level,
        level_en=judged.level_en,
    )


@router.get("/{device_id}", response_model=AirTrend, summary="A station's air quality over time")
async def read_air(
    conn: ConnDep,
    _desk: DeskUser,
    device_id: str,
    start: FromQuery = None,
    end: ToQuery = None,
    bucket: Annotated[Bucket, Query(description="hour or day (county local time).")] = "hour",
) -> AirTrend:
    """Mean concentrations and their AQI per bucket; buckets without readings are left out."""
    with refusals():
        start, end = window(start, end, now=datetime.now(UTC))
        bucket_starts(start, end, bucket)  # refuses a window of too many buckets
    rows = await air_means(conn, device_id, start=start, end=end, size=BUCKET_SIZE[bucket])
    if not rows and not await has_air(conn, device_id):
        msg = f"no Blue Sky air station {device_id!r}: no air readings of it are stored"
        raise ApiError(404, "unknown_station", msg)
    return AirTrend(
        device_id=device_id,
        cell_id=rows[-1]["cell_id"] if rows else None,
        bucket=bucket,
        from_=start,
        to=end,
        points=[air_point(row) for row in rows],
    )
