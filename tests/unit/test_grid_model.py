"""Grid model: loading, validation errors, point lookup, summaries; hand-made and real grids."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
import shapely

from gridwatch.grid import Grid, GridFileError

REAL_GRID = Path(__file__).resolve().parents[2] / "gridwatch" / "data" / "tangyin" / "grid.geojson"

X0, Y0, D = 114.30, 35.90, 0.01  # a 2 x 2 block of 0.01° squares, (lon, lat)


def square(ix: int, iy: int) -> dict[str, Any]:
    """GeoJSON Polygon of the square at column ix, row iy of the hand-made block."""
    x, y = X0 + ix * D, Y0 + iy * D
    ring = [[x, y], [x + D, y], [x + D, y + D], [x, y + D], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(cell_id: str, ix: int, iy: int, township: str, village: str) -> dict[str, Any]:
    """One valid grid feature for the hand-made block."""
    return {
        "type": "Feature",
        "properties": {
            "cell_id": cell_id,
            "township_id": township,
            "township_name": f"Township {township}",
            "village_id": village,
            "village_name": f"Village {village}",
            "area_km2": 1.0,
        },
        "geometry": square(ix, iy),
    }


def small_doc() -> dict[str, Any]:
    """A 4-cell grid: cells c1 (SW), c2 (SE), c3 (NW), c4 (NE); two townships, three villages."""
    return {
        "type": "FeatureCollection",
        "gridwatch": {"crs": "wgs84", "synthetic_hierarchy": True},
        "features": [
            feature("c4", 1, 1, "T2", "T2-V1"),
            feature("c2", 1, 0, "T1", "T1-V2"),
            feature("c1", 0, 0, "T1", "T1-V1"),
            feature("c3", 0, 1, "T2", "T2-V1"),
        ],
    }


def write(tmp_path: Path, doc: Any, name: str = "grid.geojson") -> Path:
    """Write a document as JSON into tmp_path and return the file path."""
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture()
def small(tmp_path: Path) -> Grid:
    return Grid.load(write(tmp_path, small_doc()))


def test_small_grid_basics(small: Grid) -> None:
    assert len(small) == 4
    assert [c.id for c in small.cells] == ["c1", "c2", "c3", "c4"]
    c2 = small.get("c2")
    assert c2 is not None and c2.village_name == "Village T1-V2"
    assert small.get("nope") is None
    assert small.bounds == pytest.approx((X0, Y0, X0 + 2 * D, Y0 + 2 * D))
    assert small.boundary.equals(shapely.box(X0, Y0, X0 + 2 * D, Y0 + 2 * D))
    assert small.meta["synthetic_hierarchy"] is True


def test_cell_equality_ignores_polygon(small: Grid) -> None:
    c1 = small.cells[0]
    assert c1.centroid == pytest.approx((X0 + D / 2, Y0 + D / 2))
    assert c1 == copy.copy(c1)
    assert hash(c1) == hash(copy.copy(c1))


def test_locate_centroids_and_outside(small: Grid) -> None:
    for cell in small.cells:
        assert small.locate(*cell.centroid) is cell
    assert small.locate(X0 - 0.001, Y0 + 0.005) is None
    assert small.locate(X0 + 0.005, Y0 + 2 * D + 0.001) is None
    assert small.locate(math.nan, Y0) is None
    assert small.locate(math.inf, math.inf) is None


def test_shared_edges_resolve_to_lowest_id(small: Grid, tmp_path: Path) -> None:
    edge_12 = (X0 + D, Y0 + D / 2)  # between c1 and c2
    corner = (X0 + D, Y0 + D)  # shared by all four
    edge_34 = (X0 + D, Y0 + 1.5 * D)  # between c3 and c4
    on_outline = (X0, Y0 + D / 2)  # the county border itself, only c1
    expected = ["c1", "c1", "c3", "c1"]
    points = [edge_12, corner, edge_34, on_outline]
    assert [small.locate(*p).id for p in points] == expected  # type: ignore[union-attr]
    # The same answer whatever the order of features in the file.
    doc = small_doc()
    doc["features"].reverse()
    other = Grid.load(write(tmp_path, doc, "reversed.geojson"))
    assert [other.locate(*p).id for p in points] == expected  # type: ignore[union-attr]


def test_summaries(small: Grid) -> None:
    towns = small.townships()
    assert [(t.id, t.village_count, t.cell_count, t.area_km2) for t in towns] == [
        ("T1", 2, 2, 2.0),
        ("T2", 1, 2, 2.0),
    ]
    assert [v.id for v in small.villages()] == ["T1-V1", "T1-V2", "T2-V1"]
    assert [v.cell_count for v in small.villages("T2")] == [2]


def broken(change: str) -> dict[str, Any]:
    """The small document with one defect in feature 1 (cell c2)."""
    doc = small_doc()
    f = doc["features"][1]
    if change == "no village_name":
        del f["properties"]["village_name"]
    elif change == "empty township_id":
        f["properties"]["township_id"] = " "
    elif change == "area text":
        f["properties"]["area_km2"] = "1.0"
    elif change == "bowtie":
        ring = [[X0, Y0], [X0 + D, Y0 + D], [X0 + D, Y0], [X0, Y0 + D], [X0, Y0]]
        f["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    elif change == "point":
        f["geometry"] = {"type": "Point", "coordinates": [X0, Y0]}
    elif change == "garbled coordinates":
        f["geometry"] = {"type": "Polygon", "coordinates": [[["a", "b"]]]}
    elif change == "no geometry":
        f["geometry"] = None
    elif change == "duplicate id":
        f["properties"]["cell_id"] = "c4"
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no village_name", "feature 1 (cell c2): missing property 'village_name'"),
        ("empty township_id", "feature 1 (cell c2): property 'township_id' must be a non-empty"),
        ("area text", "feature 1 (cell c2): property 'area_km2' must be a positive number"),
        ("bowtie", "feature 1 (cell c2): invalid geometry: Self-intersection"),
        ("point", "feature 1 (cell c2): geometry type 'Point' is not Polygon or MultiPolygon"),
        ("garbled coordinates", "feature 1 (cell c2): bad geometry coordinates"),
        ("no geometry", "feature 1 (cell c2): no geometry"),
        ("duplicate id", "feature 1: duplicate cell_id 'c4' (first at feature 0)"),
    ],
)
def test_bad_feature_names_index_and_reason(tmp_path: Path, change: str, message: str) -> None:
    path = write(tmp_path, broken(change))
    with pytest.raises(GridFileError) as err:
        Grid.load(path)
    assert str(err.value).startswith(f"{path}: {message}")
    assert err.value.index == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ('{"type": "Feature"}', "not a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection", "features": []}', "FeatureCollection has no features"),
        (
            '{"type": "FeatureCollection", "gridwatch": {"crs": "gcj02"}, "features": [{}]}',
            "grid crs is 'gcj02'; cells must be stored as 'wgs84'",
        ),
    ],
)
def test_bad_file_level_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GridFileError, match=message) as err:
        Grid.load(path)
    assert err.value.index is None


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GridFileError, match="cannot read grid file"):
        Grid.load(tmp_path / "absent.geojson")


@pytest.fixture(scope="module")
def real() -> Grid:
    return Grid.load(REAL_GRID)


def test_real_grid_metadata(real: Grid) -> None:
    assert real.meta["adcode"] == "410523"
    assert real.meta["crs"] == "wgs84"
    assert real.meta["synthetic_hierarchy"] is True
    assert len(real) == real.meta["cell_count"] > 1000
    assert sum(c.area_km2 for c in real.cells) == pytest.approx(644.0, rel=0.01)
    assert len(real.townships()) == 10
    for cell in real.cells:
        assert cell.village_id.startswith(cell.township_id + "-V")
        assert "synthetic" in cell.township_name and "synthetic" in cell.village_name


def test_real_grid_locates_every_centroid(real: Grid) -> None:
    wrong = [c.id for c in real.cells if real.locate(*c.centroid) is not c]
    assert wrong == []


def test_real_grid_outside_points(real: Grid) -> None:
    min_lon, min_lat, max_lon, max_lat = real.bounds
    assert 114.2 < min_lon < max_lon < 114.8 and 35.7 < min_lat < max_lat < 36.1
    assert real.locate(116.397, 39.909) is None  # Beijing
    assert real.locate(min_lon - 0.001, min_lat - 0.001) is None
    assert real.locate(114.36, 36.2) is None  # north of the county, in Anyang city


def test_real_grid_boundary_is_one_piece(real: Grid) -> None:
    outline = real.boundary
    assert outline.geom_type == "Polygon" and outline.is_valid
    assert shapely.get_num_interior_rings(outline) == 0
