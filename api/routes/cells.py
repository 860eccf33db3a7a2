"""Grid cells: which cell holds a point, one cell, the grid as GeoJSON, the cells' open queues."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import mapping

from api.access import requested_scope
from api.deps import ConnDep, DeskUser, GridDep
from api.errors import ApiError
from api.loop_schemas import ClockRead, clock_read
from api.routes.incidents import with_location
from api.schemas import CellRead, IncidentRead, Point
from gridwatch.geo.crs import Crs, to_wgs84
from gridwatch.grid.model import PROPERTIES, Cell, Grid
from gridwatch.people import Level
from gridwatch.store.open_queue import list_open

router = APIRouter(prefix="/v1/cells", tags=["cells"])


class OpenIncident(IncidentRead):
    """An open incident as a desk sees it: its level, who holds it and its running clock."""

    level: Level
    assignees: list[str] = Field(description="Account or roster ids holding it now.")
    clock: ClockRead | None = Field(description="The clock running, with its countdown.")


class OpenQueuePage(BaseModel):
    """Open incidents: most severe first, then the soonest due, then the oldest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: list[OpenIncident]
    count: int


def cell_read(cell: Cell) -> CellRead:
    """The wire form of a cell."""
    lon, lat = cell.centroid
    return CellRead(
        cell_id=cell.id,
        township_id=cell.township_id,
        township_name=cell.township_name,
        village_id=cell.village_id,
        village_name=cell.village_name,
        centroid=Point(lat=lat, lon=lon),
        area_km2=cell.area_km2,
    )


@functools.cache
def grid_geojson(grid: Grid) -> bytes:
    """The grid the API loaded as a GeoJSON FeatureCollection, built once per grid."""
    features = [
        {
            "type": "Feature",
            "id": cell.id,
            "properties": {key: getattr(cell, key) for key in PROPERTIES[1:]}
            | {"cell_id": cell.id},
            "geometry": mapping(cell.polygon),
        }
        for cell in grid.cells
    ]
    doc = {"type": "FeatureCollection", "gridwatch": dict(grid.meta), "features": features}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


@router.get(
    "/map",
    summary="Every cell as GeoJSON",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def read_map(grid: GridDep) -> Response:
    """The grid's cells with their township and village, WGS-84, for drawing the county."""
    return Response(grid_geojson(grid), media_type="application/geo+json")


def _open(row: dict[str, Any], now: datetime) -> OpenIncident:
    clock = clock_read(row.pop("clock"), row.pop("clock_level"), row.pop("due_at"), now)
    return OpenIncident.model_validate(with_location(row) | {"clock": clock})


@router.get("/queue", response_model=OpenQueuePage, summary="Open incidents with their clocks")
async def read_open_queue(
    conn: ConnDep,
    grid: GridDep,
    desk: DeskUser,
    cell: Annotated[str | None, Query(description="Grid cell id; all cells when absent.")] = None,
    limit: Annotated[int, Query(ge=1, le=2000, description="At most this many.")] = 500,
) -> OpenQueuePage:
    """Every open incident the caller may oversee (a supervisor: under their node)."""
    # The area is filtered in SQL, before the limit: a supervisor's queue is never cut short
    # by other townships' incidents.
    scope = requested_scope(desk, grid, cell)
    rows = await list_open(conn, cells=scope.cells, kind=scope.kind, limit=limit)
    now = datetime.now(UTC)
    items = [_open(row, now) for row in rows]
    return OpenQueuePage(items=items, count=len(items))


@router.get("", response_model=CellRead, summary="The grid cell holding a point")
def locate_cell(
    grid: GridDep,
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude.")],
    lon: Annotated[float, Query(ge=-180, le=180, description="Longitude.")],
    crs: Annotated[Crs, Query(description="wgs84, gcj02 or bd09.")] = "wgs84",
) -> CellRead:
    """Find the cell of a point given in any of the supported coordinate systems."""
    wlon, wlat = to_wgs84(lon, lat, crs)
    cell = grid.locate(wlon, wlat)
    if cell is None:
        raise ApiError(404, "outside_grid", f"no grid cell holds lat={lat}, lon={lon} ({crs})")
    return cell_read(cell)


@router.get("/{cell_id}", response_model=CellRead, summary="One grid cell")
def get_cell(grid: GridDep, cell_id: str) -> CellRead:
    """A cell by id."""
    cell = grid.get(cell_id)
    if cell is None:
        raise ApiError(404, "unknown_cell", f"no grid cell has id {cell_id!r}")
    return cell_read(cell)
