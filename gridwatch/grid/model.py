"""The grid model: cells (网格) in villages in townships, and point-in-cell lookup; (lon, lat)."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.strtree import STRtree

LOCATE_CACHE_SIZE = 65536
# The county key of a grid whose file names no administrative code.
DEFAULT_COUNTY = "county"

PROPERTIES: tuple[str, ...] = (
    "cell_id",
    "township_id",
    "township_name",
    "village_id",
    "village_name",
    "area_km2",
)


class GridFileError(ValueError):
    """A grid file or document that cannot be used, with the offending feature index if any."""

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class Cell:
    """One grid cell; `centroid` is a (lon, lat) WGS-84 point guaranteed to lie inside it."""

    id: str
    township_id: str
    township_name: str
    village_id: str
    village_name: str
    centroid: tuple[float, float]
    area_km2: float
    polygon: Polygon | MultiPolygon = field(compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class Township:
    """Summary of one township: how many villages and cells, and its area."""

    id: str
    name: str
    village_count: int
    cell_count: int
    area_km2: float


@dataclass(frozen=True)
class Village:
    """Summary of one village: its township, how many cells, and its area."""

    id: str
    name: str
    township_id: str
    cell_count: int
    area_km2: float


def _inner_point(polygon: Polygon | MultiPolygon) -> tuple[float, float]:
    """The centroid as (lon, lat), or a point inside when a clipped cell's centroid falls out."""
    c = polygon.centroid
    if not polygon.covers(c):
        c = polygon.representative_point()
    return (float(c.x), float(c.y))


def _text(props: Mapping[str, Any], key: str, where: str, index: int) -> str:
    """A required non-empty string property, or GridFileError naming feature and key."""
    if key not in props:
        raise GridFileError(f"{where}: missing property {key!r}", index=index)
    value = props[key]
    if not isinstance(value, str) or not value.strip():
        raise GridFileError(f"{where}: property {key!r} must be a non-empty string", index=index)
    return value


def _cell_from_feature(feature: Any, index: int) -> Cell:
    """Build one Cell from a GeoJSON feature, raising GridFileError on anything missing or bad."""
    where = f"feature {index}"
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise GridFileError(f"{where}: not a GeoJSON Feature object", index=index)
    props = feature.get("properties")
    if not isinstance(props, Mapping):
        raise GridFileError(f"{where}: no properties object", index=index)
    cell_id = _text(props, "cell_id", where, index)
    where = f"feature {index} (cell {cell_id})"
    texts = {k: _text(props, k, where, index) for k in PROPERTIES[1:5]}
    if "area_km2" not in props:
        raise GridFileError(f"{where}: missing property 'area_km2'", index=index)
    area = props["area_km2"]
    if isinstance(area, bool) or not isinstance(area, int | float) or not area > 0:
        raise GridFileError(f"{where}: property 'area_km2' must be a positive number", index=index)
    geometry = feature.get("geometry")
    if not isinstance(geometry, Mapping):
        raise GridFileError(f"{where}: no geometry", index=index)
    if geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise GridFileError(
            f"{where}: geometry type {geometry.get('type')!r} is not Polygon or MultiPolygon",
            index=index,
        )
    try:
        polygon = shape(geometry)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise GridFileError(f"{where}: bad geometry coordinates ({exc})", index=index) from exc
    if polygon.is_empty:
        raise GridFileError(f"{where}: empty geometry", index=index)
    if not polygon.is_valid:
        reason = shapely.is_valid_reason(polygon)
        raise GridFileError(f"{where}: invalid geometry: {reason}", index=index)
    return Cell(
        id=cell_id,
        township_id=texts["township_id"],
        township_name=texts["township_name"],
        village_id=texts["village_id"],
        village_name=texts["village_name"],
        centroid=_inner_point(polygon),
        area_km2=float(area),
        polygon=polygon,
    )


class Grid:
    """An immutable set of cells with a spatial index; every point argument is WGS-84 (lon, lat)."""

    def __init__(self, cells: Iterable[Cell], meta: Mapping[str, Any] | None = None) -> None:
        ordered = sorted(cells, key=lambda c: c.id)
        if not ordered:
            raise GridFileError("grid has no cells")
        by_id: dict[str, Cell] = {}
        for cell in ordered:
            if cell.id in by_id:
                raise GridFileError(f"duplicate cell id {cell.id!r}")
            by_id[cell.id] = cell
        # Sorted by id so that the lowest index among several hits is the lowest id: a point on
        # an edge shared by two cells always resolves to the same one.
        self._cells: tuple[Cell, ...] = tuple(ordered)
        self._by_id = by_id
        self._tree = STRtree([c.polygon for c in ordered])
        # Cameras and stations do not move: the same coordinates come back with every event,
        # and a dictionary hit is ~100x cheaper than a tree query.
        self._locate_cached = functools.lru_cache(maxsize=LOCATE_CACHE_SIZE)(self._locate)
        self.meta: Mapping[str, Any] = dict(meta or {})

    @classmethod
    def from_features(cls, features: Sequence[Any], meta: Mapping[str, Any] | None = None) -> Grid:
        """Build a grid from GeoJSON Feature dicts; GridFileError names the first bad feature."""
        cells = [_cell_from_feature(f, i) for i, f in enumerate(features)]
        seen: dict[str, int] = {}
        for i, cell in enumerate(cells):
            if cell.id in seen:
                raise GridFileError(
                    f"feature {i}: duplicate cell_id {cell.id!r} "
                    f"(first at feature {seen[cell.id]})",
                    index=i,
                )
            seen[cell.id] = i
        return cls(cells, meta)

    @classmethod
    def from_geojson(cls, doc: Any) -> Grid:
        """Build a grid from a parsed GeoJSON FeatureCollection (with optional `gridwatch` meta)."""
        if not isinstance(doc, Mapping) or doc.get("type") != "FeatureCollection":
            raise GridFileError("not a GeoJSON FeatureCollection")
        features = doc.get("features")
        if not isinstance(features, list) or not features:
            raise GridFileError("FeatureCollection has no features")
        meta = doc.get("gridwatch", {})
        if not isinstance(meta, Mapping):
            raise GridFileError("member 'gridwatch' must be an object")
        crs = meta.get("crs", "wgs84")
        if crs != "wgs84":
            raise GridFileError(f"grid crs is {crs!r}; cells must be stored as 'wgs84'")
        return cls.from_features(features, meta)

    @classmethod
    def load(cls, path: Path) -> Grid:
        """Read a grid GeoJSON file; every problem is a GridFileError that starts with the path."""
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise GridFileError(f"{path}: cannot read grid file: {exc.strerror or exc}") from exc
        except json.JSONDecodeError as exc:
            raise GridFileError(f"{path}: not JSON: {exc}") from exc
        try:
            return cls.from_geojson(doc)
        except GridFileError as exc:
            raise GridFileError(f"{path}: {exc}", index=exc.index) from exc

    @property
    def cells(self) -> tuple[Cell, ...]:
        """All cells, ordered by id."""
        return self._cells

    @property
    def county(self) -> str:
        """The county's key on county-wide topics: its administrative code (410523 ...)."""
        return str(self.meta.get("adcode") or DEFAULT_COUNTY)

    def __len__(self) -> int:
        """Number of cells."""
        return len(self._cells)

    def get(self, cell_id: str) -> Cell | None:
        """The cell with this id, or None."""
        return self._by_id.get(cell_id)

    def cells_under(self, node_id: str) -> tuple[Cell, ...]:
        """The cells in a node's subtree: the county's, a township's, a village's, or the cell."""
        if node_id == self.county:
            return self._cells
        return tuple(c for c in self._cells if node_id in (c.id, c.village_id, c.township_id))

    def locate(self, lon: float, lat: float) -> Cell | None:
        """The cell covering WGS-84 (lon, lat), lowest id on a shared edge; None outside."""
        return self._locate_cached(lon, lat)

    def _locate(self, lon: float, lat: float) -> Cell | None:
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return None
        hits = self._tree.query(Point(lon, lat), predicate="intersects").tolist()
        return self._cells[min(hits)] if hits else None

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min_lon, min_lat, max_lon, max_lat) of all cells."""
        b = shapely.total_bounds([c.polygon for c in self._cells])
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))

    @cached_property
    def boundary(self) -> Polygon | MultiPolygon:
        """The outline of the whole grid (the county), as the union of all cells."""
        # Snapping to 1e-7 degrees (~1 cm) closes float-noise slivers between neighbouring cells.
        union = shapely.union_all([c.polygon for c in self._cells], grid_size=1e-7)
        return union

    @cached_property
    def _township_summaries(self) -> tuple[Township, ...]:
        """Township summaries, computed once."""
        names: dict[str, str] = {}
        villages: dict[str, set[str]] = {}
        counts: dict[str, int] = {}
        areas: dict[str, float] = {}
        for c in self._cells:
            names.setdefault(c.township_id, c.township_name)
            villages.setdefault(c.township_id, set()).add(c.village_id)
            counts[c.township_id] = counts.get(c.township_id, 0) + 1
            areas[c.township_id] = areas.get(c.township_id, 0.0) + c.area_km2
        return tuple(
            Township(t, names[t], len(villages[t]), counts[t], round(areas[t], 6))
            for t in sorted(names)
        )

    @cached_property
    def _village_summaries(self) -> tuple[Village, ...]:
        """Village summaries, computed once."""
        first: dict[str, Cell] = {}
        counts: dict[str, int] = {}
        areas: dict[str, float] = {}
        for c in self._cells:
            first.setdefault(c.village_id, c)
            counts[c.village_id] = counts.get(c.village_id, 0) + 1
            areas[c.village_id] = areas.get(c.village_id, 0.0) + c.area_km2
        return tuple(
            Village(v, first[v].village_name, first[v].township_id, counts[v], round(areas[v], 6))
            for v in sorted(first)
        )

    def townships(self) -> tuple[Township, ...]:
        """One summary per township, ordered by id."""
        return self._township_summaries

    def villages(self, township_id: str | None = None) -> tuple[Village, ...]:
        """One summary per village ordered by id, optionally only those of one township."""
        if township_id is None:
            return self._village_summaries
        return tuple(v for v in self._village_summaries if v.township_id == township_id)
