"""build_grid on small hand-made boundaries: exact tiling, hierarchy, determinism."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import h3
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from gridwatch.grid import Grid
from gridwatch.grid.build import area_km2, build_grid, covering_cells, dumps_grid
from gridwatch.grid.model import PROPERTIES

# A 0.1° square (about 9 x 11 km) in Tangyin, (lon, lat), with corners off the 1e-6 grid.
SQUARE = shapely.box(114.3012345, 35.8523456, 114.4012345, 35.9523456)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_grid(SQUARE, resolution=8, townships=3, source="unit test")


@pytest.fixture(scope="module")
def geoms(doc: dict[str, Any]) -> list[Polygon | MultiPolygon]:
    return [shape(f["geometry"]) for f in doc["features"]]


def test_cells_lie_inside_the_boundary(geoms: list[Polygon | MultiPolygon]) -> None:
    # Coordinates are rounded to 1e-6°, so allow half a grid step of slack at the border.
    slack = SQUARE.buffer(1e-6)
    assert all(g.is_valid and slack.covers(g) for g in geoms)


def test_cells_tile_the_boundary(geoms: list[Polygon | MultiPolygon]) -> None:
    union = shapely.union_all(geoms)
    assert area_km2(union) == pytest.approx(area_km2(SQUARE), rel=1e-3)
    # No overlaps: the cell areas add up to the union's.
    assert sum(area_km2(g) for g in geoms) == pytest.approx(area_km2(union), rel=1e-9)


def test_every_point_is_in_exactly_one_cell(geoms: list[Polygon | MultiPolygon]) -> None:
    tree = shapely.STRtree(geoms)
    rng = random.Random(7)
    minx, miny, maxx, maxy = SQUARE.bounds
    for _ in range(3000):
        p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        assert len(tree.query(p, predicate="intersects")) == 1


def test_includes_every_overlapping_hexagon(doc: dict[str, Any]) -> None:
    ids = {f["properties"]["cell_id"] for f in doc["features"]}
    ring = [(y, x) for x, y in SQUARE.exterior.coords]
    centre_inside = set(h3.polygon_to_cells(h3.LatLngPoly(ring), 8))
    assert centre_inside < ids  # border cells whose centre is outside are there too
    assert ids == set(covering_cells(SQUARE, 8))


def test_hierarchy_and_properties(doc: dict[str, Any]) -> None:
    meta = doc["gridwatch"]
    assert meta["synthetic_hierarchy"] is True and meta["crs"] == "wgs84"
    assert "SYNTHETIC" in meta["note"] and meta["source"] == "unit test"
    assert meta["cell_count"] == len(doc["features"])
    towns = set()
    for f in doc["features"]:
        p = f["properties"]
        assert tuple(p) == PROPERTIES
        assert f["id"] == p["cell_id"] and h3.is_valid_cell(p["cell_id"])
        assert re.fullmatch(r"410523-T0[1-3]", p["township_id"])
        assert re.fullmatch(re.escape(p["township_id"]) + r"-V\d{3}", p["village_id"])
        assert "synthetic" in p["township_name"] and "synthetic" in p["village_name"]
        assert 0 < p["area_km2"] < 0.6
        towns.add(p["township_id"])
    assert towns == {"410523-T01", "410523-T02", "410523-T03"}


def test_villages_are_h3_parents_within_a_township(doc: dict[str, Any]) -> None:
    parent_of_village: dict[str, str] = {}
    for f in doc["features"]:
        p = f["properties"]
        parent = h3.cell_to_parent(p["cell_id"], 7)
        assert parent_of_village.setdefault(p["village_id"], parent) == parent


def test_coordinates_are_rounded(doc: dict[str, Any]) -> None:
    for f in doc["features"][:50]:
        for x, y in shape(f["geometry"]).exterior.coords:
            assert round(x, 6) == x and round(y, 6) == y


def test_deterministic(doc: dict[str, Any]) -> None:
    again = build_grid(SQUARE, resolution=8, townships=3, source="unit test")
    assert dumps_grid(again) == dumps_grid(doc)


def test_dumps_round_trips_and_loads(doc: dict[str, Any]) -> None:
    text = dumps_grid(doc)
    assert json.loads(text) == doc
    grid = Grid.from_geojson(json.loads(text))
    assert len(grid) == len(doc["features"])
    c = SQUARE.centroid
    assert grid.locate(c.x, c.y) is not None


def test_multipolygon_boundary() -> None:
    west = shapely.box(114.30, 35.90, 114.33, 35.93)
    east = shapely.box(114.40, 35.90, 114.43, 35.93)
    both = MultiPolygon([west, east])
    built = build_grid(both, resolution=8, townships=2)
    geoms = [shape(f["geometry"]) for f in built["features"]]
    assert any(west.intersects(g) for g in geoms) and any(east.intersects(g) for g in geoms)
    assert area_km2(shapely.union_all(geoms)) == pytest.approx(area_km2(both), rel=1e-3)


def test_area_matches_h3_for_a_whole_hexagon() -> None:
    cell = h3.latlng_to_cell(35.92, 114.36, 8)
    hexagon = Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])
    # h3 uses a sphere, we use the WGS-84 ellipsoid: they agree to a fraction of a percent.
    assert area_km2(hexagon) == pytest.approx(h3.cell_area(cell, "km^2"), rel=2e-3)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="townships must be between 1 and the cell count"):
        build_grid(shapely.box(114.30, 35.90, 114.301, 35.901), townships=10)
    with pytest.raises(ValueError, match="village_resolution"):
        build_grid(SQUARE, resolution=8, village_resolution=9)
    with pytest.raises(ValueError, match="non-empty valid"):
        build_grid(Polygon())
