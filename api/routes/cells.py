"""Grid cells: which cell holds a point, one cell, and the whole grid as GeoJSON for maps."""

from __future__ import annotations

import functools
import json
from typing import Annotated

from fastapi import APIRouter, Query, Response
from shapely.geometry import mapping

from api.deps import GridDep
from api.errors import ApiError
from api.schemas import CellRead, Point
from gridwatch.geo.crs import Crs, to_wgs84
from gridwatch.grid.model import PROPERTIES, Cell, Grid

router = APIRouter(prefix="/v1/cells", tags=["cells"])


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
