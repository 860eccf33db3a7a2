"""The simulated county's devices: Sharp Eyes cameras, Blue Sky fire cameras and air stations."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from shapely.geometry import Point

from gridwatch.events import SourceKind
from gridwatch.grid.model import Cell, Grid

DeviceKind = Literal["camera", "fire_camera", "air_station"]
SOURCE_OF: dict[DeviceKind, SourceKind] = {
    "camera": "sharp-eyes",
    "fire_camera": "blue-sky",
    "air_station": "blue-sky",
}
# What a fresh county might have: many street cameras, fewer towers and stations.
FLEET_SHARE: dict[DeviceKind, float] = {"camera": 0.7, "fire_camera": 0.18, "air_station": 0.12}


@dataclass(frozen=True)
class Device:
    """One simulated device, fixed in place inside a cell."""

    id: str
    kind: DeviceKind
    cell_id: str
    lon: float
    lat: float
    # Sharp Eyes cameras watching a river or pond see people near the water now and then.
    zone: str | None = None
    # Cameras over a square or market count the people in view.
    counts_people: bool = False

    @property
    def source(self) -> SourceKind:
        """The MQTT topic's source segment."""
        return SOURCE_OF[self.kind]

    def topic(self, suffix: Literal["events", "status"]) -> str:
        """Its topic under the v1 contract."""
        return f"gridwatch/v1/{self.source}/{self.id}/{suffix}"


def _point_in(cell: Cell, rng: random.Random) -> tuple[float, float]:
    """A random point inside the cell (rejection sampling in its bounding box)."""
    west, south, east, north = cell.polygon.bounds
    for _ in range(100):
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        if cell.polygon.contains(Point(lon, lat)):
            return round(lon, 6), round(lat, 6)
    return cell.centroid  # a sliver of a cell: its centroid is close enough


def place_fleet(grid: Grid, devices: int, rng: random.Random) -> list[Device]:
    """`devices` devices spread over random cells, in the shares of FLEET_SHARE."""
    fleet: list[Device] = []
    for kind, share in FLEET_SHARE.items():
        prefix = {"camera": "se", "fire_camera": "bs", "air_station": "aq"}[kind]
        for n in range(max(1, round(devices * share))):
            cell = rng.choice(grid.cells)
            lon, lat = _point_in(cell, rng)
            watching = kind == "camera" and rng.random() < 0.15
            fleet.append(
                Device(
                    id=f"{prefix}-{n:04d}",
                    kind=kind,
                    cell_id=cell.id,
                    lon=lon,
                    lat=lat,
                    zone=rng.choice(("riverbank", "pond", "canal")) if watching else None,
                    counts_people=kind == "camera" and not watching and rng.random() < 0.3,
                )
            )
    return fleet
