"""Wire models of the figures: KPIs per node, series per bucket, air trends, the public page."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gridwatch.incidents import IncidentKind
from gridwatch.kpis import Bucket, KpiLevel


class _Read(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeKpis(_Read):
    """The figures of one node of the hierarchy over the window (definitions: docs/kpis.md)."""

    node_id: str = Field(description="Cell, village, township or county id.")
    name: str = Field(description="The node's name (a cell's is its id).")
    township_id: str | None = Field(description="Its township; null for the county.")
    township_name: str | None = Field(description="Its township's name; null for the county.")
    open: int = Field(description="Detected before `to` and neither closed nor cancelled by then.")
    detected: int = Field(description="Detected (opened) in the window.")
    closed: int = Field(description="Closed in the window: handled.")
    cancelled: int = Field(description="Cancelled in the window.")
    accepted: int = Field(description="First accepted in the window.")
    accept_p50_s: float | None = Field(description="Median seconds detection → first accept.")
    accept_p90_s: float | None = Field(description="90th percentile of the same.")
    resolved: int = Field(description="Resolved in the window.")
    resolve_p50_s: float | None = Field(description="Median seconds detection → resolve.")
    resolve_p90_s: float | None = Field(description="90th percentile of the same.")
    resolved_on_time: int = Field(description="Resolved by the due time of their resolve clock.")
    resolved_on_time_share: float | None = Field(
        description="resolved_on_time / resolved that had a resolve clock; null without any."
    )
    breaches: int = Field(description="SLA clocks due in the window that ran past due.")
    escalations: int = Field(description="Escalation steps in the window (timer or person).")


class KpiPage(_Read):
    """Figures per node of one level, every node in the caller's scope, zeros included."""

    level: KpiLevel
    township: str | None = Field(description="The township filter, if any.")
    kind: IncidentKind | None = Field(description="The kind filter, if any.")
    from_: datetime = Field(alias="from", description="Window start (inclusive).")
    to: datetime = Field(description="Window end (exclusive).")
    nodes: list[NodeKpis]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SeriesPoint(_Read):
    """One bucket of one node."""

    start: datetime = Field(description="Bucket start, county local time (UTC+8).")
    detected: int = Field(description="Detected in the bucket.")
    closed: int = Field(description="Closed in the bucket.")
    resolved: int = Field(description="Resolved in the bucket.")
    resolve_p50_s: float | None = Field(
        description="Median seconds detection → resolve of those resolved in the bucket."
    )


class NodeSeries(_Read):
    """One node's buckets, every bucket of the window, zeros included."""

    node_id: str
    name: str
    points: list[SeriesPoint]


class SeriesPage(_Read):
    """Incidents and resolution times per node and bucket."""

    level: KpiLevel
    bucket: Bucket
    township: str | None = Field(description="The township filter, if any.")
    kind: IncidentKind | None = Field(description="The kind filter, if any.")
    from_: datetime = Field(alias="from", description="Window start (inclusive).")
    to: datetime = Field(description="Window end (exclusive).")
    starts: list[datetime] = Field(description="Every bucket start, oldest first.")
    nodes: list[NodeSeries]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AirPoint(_Read):
    """One bucket of a station's readings: means and the AQI of the means."""

    start: datetime = Field(description="Bucket start, county local time (UTC+8).")
    readings: int = Field(description="Readings in the bucket.")
    pm25: float | None = Field(description="Mean PM2.5, µg/m³.")
    pm10: float | None = Field(description="Mean PM10, µg/m³.")
    so2: float | None = Field(description="Mean SO2, µg/m³.")
    no2: float | None = Field(description="Mean NO2, µg/m³.")
    o3: float | None = Field(description="Mean O3, µg/m³.")
    co: float | None = Field(description="Mean CO, mg/m³.")
    aqi: int = Field(description="HJ 633 AQI of the means (the edition in force then).")
    primary: list[str] = Field(description="Primary pollutants (pm25, ...); empty at AQI ≤ 50.")
    level: str = Field(description="Category as published: 优, 良, 轻度污染 ...")
    level_en: str = Field(description="The category in English.")


class AirTrend(_Read):
    """A Blue Sky station's air quality per bucket; buckets without readings are left out."""

    device_id: str
    cell_id: str | None = Field(
        description="Cell of its newest reading in the window; null without readings there."
    )
    bucket: Bucket
    from_: datetime = Field(alias="from", description="Window start (inclusive).")
    to: datetime = Field(description="Window end (exclusive).")
    points: list[AirPoint]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PublicVillage(_Read):
    """A village's handling of incidents: counts and times only, nothing about anyone."""

    village_id: str
    village_name: str
    township_id: str
    township_name: str
    handled: int = Field(description="Incidents closed in the window.")
    resolved: int = Field(description="Incidents resolved in the window.")
    resolve_p50_s: float | None = Field(description="Median seconds detection → resolve.")
    resolved_on_time_share: float | None = Field(
        description="Share of those resolved by their resolve clock's due time."
    )


class PublicVillagePage(_Read):
    """Every village of the county, with zeros where nothing was handled."""

    from_: datetime = Field(alias="from", description="Window start (inclusive).")
    to: datetime = Field(description="Window end (exclusive).")
    villages: list[PublicVillage]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
