"""Cut a WGS-84 (lon, lat) boundary into h3 cells with a synthetic township/village tree."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import h3
import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

# WGS-84 ellipsoid, for the equal-area projection used to measure areas and cluster cells.
_A = 6378137.0
_E2 = 0.00669437999014
_E = math.sqrt(_E2)

SYNTHETIC_NOTE = (
    "Township and village ids and names are SYNTHETIC: townships are area-weighted k-means "
    "clusters of cell centroids, villages are h3 parents within a township. They are not the "
    "county's real administrative divisions."
)


def _authalic_q(lat_deg: NDArray[np.float64]) -> NDArray[np.float64]:
    """Snyder's q(phi) for the WGS-84 ellipsoid: the equal-area latitude function."""
    s = np.sin(np.radians(lat_deg))
    es = _E * s
    return (1.0 - _E2) * (s / (1.0 - _E2 * s * s) - np.log((1.0 - es) / (1.0 + es)) / (2.0 * _E))


def equal_area_xy(lonlat: NDArray[np.float64], lon0: float, lat0: float) -> NDArray[np.float64]:
    """Project (N, 2) WGS-84 (lon, lat) rows to metres, Lambert cylindrical equal-area at lat0."""
    # Ellipsoidal form (Snyder 1987, eq. 10-15/10-16): areas are exact at every latitude, and
    # the standard parallel at the region's middle keeps shapes (and k-means distances) honest.
    s0 = math.sin(math.radians(lat0))
    k0 = math.cos(math.radians(lat0)) / math.sqrt(1.0 - _E2 * s0 * s0)
    x = _A * k0 * np.radians(lonlat[:, 0] - lon0)
    y = _A * _authalic_q(lonlat[:, 1]) / (2.0 * k0)
    return np.column_stack([x, y])


def area_km2(geom: BaseGeometry) -> float:
    """Ellipsoidal area in km² of a WGS-84 (lon, lat) polygonal geometry."""
    if geom.is_empty:
        return 0.0
    c = geom.centroid
    lon0, lat0 = float(c.x), float(c.y)
    projected = shapely.transform(geom, lambda xy: equal_area_xy(xy, lon0, lat0))
    return float(projected.area) / 1e6


def _polygonal(geom: BaseGeometry) -> Polygon | MultiPolygon | None:
    """The polygon parts of an overlay result (dropping stray lines and points), or None."""
    if isinstance(geom, Polygon | MultiPolygon):
        return None if geom.is_empty else geom
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def _hexagon(cell: str) -> Polygon:
    """The h3 cell's outline as a shapely polygon in (lon, lat) order."""
    return Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])


def covering_cells(outline: BaseGeometry, resolution: int) -> list[str]:
    """Every h3 cell at `resolution` whose hexagon intersects the (lon, lat) outline, sorted."""
    shapely.prepare(outline)
    parts = shapely.get_parts(outline)
    # Flood fill from one inner point per part: the cells touching a connected region are
    # connected through shared edges, so growing only from intersecting cells finds them all,
    # including cells whose centre lies outside (which polygon_to_cells would miss).
    seeds = {
        h3.latlng_to_cell(p.y, p.x, resolution) for p in (q.representative_point() for q in parts)
    }
    visited, frontier, hits = set(seeds), sorted(seeds), set()
    while frontier:
        cell = frontier.pop()
        if not outline.intersects(_hexagon(cell)):
            continue
        hits.add(cell)
        for n in h3.grid_disk(cell, 1):
            if n not in visited:
                visited.add(n)
                frontier.append(n)
    return sorted(hits)


def _kmeans(xy: NDArray[np.float64], w: NDArray[np.float64], k: int) -> NDArray[np.intp]:
    """Area-weighted k-means labels with deterministic farthest-point seeding (no randomness)."""
    mean = (xy * w[:, None]).sum(axis=0) / w.sum()
    first = int(np.argmax(((xy - mean) ** 2).sum(axis=1)))
    centres = [xy[first]]
    d2 = ((xy - xy[first]) ** 2).sum(axis=1)
    for _ in range(1, k):
        nxt = int(np.argmax(d2))
        centres.append(xy[nxt])
        d2 = np.minimum(d2, ((xy - xy[nxt]) ** 2).sum(axis=1))
    c = np.array(centres)
    labels = np.full(len(xy), -1, dtype=np.intp)
    for _ in range(300):
        dist = ((xy[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
        new = np.argmin(dist, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            members = labels == j
            if members.any():
                c[j] = (xy[members] * w[members, None]).sum(axis=0) / w[members].sum()
            else:  # re-seed an empty cluster on the point worst served by its centre
                c[j] = xy[int(np.argmax(dist[np.arange(len(xy)), labels]))]
    return labels


def _north_to_south(points: Iterable[tuple[str, float, float]]) -> list[str]:
    """Keys of (key, lon, lat) triples ordered north to south, then west to east, then by key."""
    return [key for key, _, _ in sorted(points, key=lambda p: (-round(p[2], 9), p[1], p[0]))]


def geometry_to_geojson(geom: Polygon | MultiPolygon, precision: int = 6) -> dict[str, Any]:
    """RFC 7946 geometry dict (CCW exteriors) with (lon, lat) rounded to `precision` decimals."""
    oriented = shapely.orient_polygons(geom, exterior_cw=False)

    def ring(r: Any) -> list[list[float]]:
        return [[round(x, precision), round(y, precision)] for x, y in r.coords]

    def poly(p: Polygon) -> list[list[list[float]]]:
        return [ring(p.exterior), *(ring(i) for i in p.interiors)]

    if isinstance(oriented, Polygon):
        return {"type": "Polygon", "coordinates": poly(oriented)}
    return {"type": "MultiPolygon", "coordinates": [poly(p) for p in oriented.geoms]}


def build_grid(
    boundary: Polygon | MultiPolygon,
    *,
    resolution: int = 8,
    townships: int = 10,
    village_resolution: int | None = None,
    adcode: str = "410523",
    county: str = "汤阴县 Tangyin County",
    source: str = "unspecified",
    precision: int = 6,
) -> dict[str, Any]:
    """GeoJSON FeatureCollection of h3 cells clipped to a WGS-84 (lon, lat) boundary."""
    if boundary.is_empty or not boundary.is_valid:
        raise ValueError("boundary must be a non-empty valid Polygon or MultiPolygon")
    vres = resolution - 1 if village_resolution is None else village_resolution
    if not 0 <= vres <= resolution <= 15:
        raise ValueError(
            f"need 0 <= village_resolution ({vres}) <= resolution ({resolution}) <= 15"
        )
    grid_size = 10.0**-precision
    # Overlay on the same fixed grid the file is written with, so the rounded cells still tile
    # the county: neighbours share identical snapped vertices and rounding adds no slivers.
    outline = shapely.set_precision(boundary, grid_size)
    ids = covering_cells(outline, resolution)
    hexagons = np.array([_hexagon(i) for i in ids], dtype=object)
    clipped = shapely.intersection(hexagons, outline, grid_size=grid_size)
    whole = int(shapely.covers(outline, hexagons).sum())
    cells: list[tuple[str, Polygon | MultiPolygon, float]] = []
    for cell_id, geom in zip(ids, clipped, strict=True):
        poly = _polygonal(geom)
        if poly is not None and poly.area > 0:
            cells.append((cell_id, poly, area_km2(poly)))
    if townships < 1 or townships > len(cells):
        raise ValueError(f"townships must be between 1 and the cell count {len(cells)}")

    centroids = np.array([[p.centroid.x, p.centroid.y] for _, p, _ in cells])
    c = outline.centroid
    xy = equal_area_xy(centroids, float(c.x), float(c.y)) / 1000.0
    weights = np.array([a for _, _, a in cells])
    labels = _kmeans(xy, weights, townships)
    cluster_centres = [
        (str(j), *centroids[labels == j].mean(axis=0).tolist()) for j in range(townships)
    ]
    township_no = {int(j): n for n, j in enumerate(_north_to_south(cluster_centres), start=1)}

    features: list[tuple[tuple[str, str, str], dict[str, Any]]] = []
    by_township: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        by_township.setdefault(township_no[int(label)], []).append(i)
    for t_no, members in sorted(by_township.items()):
        t_code = f"T{t_no:02d}"
        parents = {i: h3.cell_to_parent(cells[i][0], vres) for i in members}
        order = _north_to_south((p, *h3.cell_to_latlng(p)[::-1]) for p in set(parents.values()))
        village_no = {p: n for n, p in enumerate(order, start=1)}
        for i in members:
            cell_id, poly, area = cells[i]
            v_code = f"{t_code}-V{village_no[parents[i]]:03d}"
            props: dict[str, Any] = {
                "cell_id": cell_id,
                "township_id": f"{adcode}-{t_code}",
                "township_name": f"乡镇 {t_code} Township (synthetic)",
                "village_id": f"{adcode}-{v_code}",
                "village_name": f"村 {v_code} Village (synthetic)",
                "area_km2": round(area, 6),
            }
            feature = {
                "type": "Feature",
                "id": cell_id,
                "properties": props,
                "geometry": geometry_to_geojson(poly, precision),
            }
            features.append(((t_code, v_code, cell_id), feature))
    features.sort(key=lambda kf: kf[0])

    meta = {
        "county": county,
        "adcode": adcode,
        "crs": "wgs84",
        "synthetic_hierarchy": True,
        "source": source,
        "note": SYNTHETIC_NOTE,
        "h3_resolution": resolution,
        "village_h3_resolution": vres,
        "township_count": townships,
        "village_count": len({f["properties"]["village_id"] for _, f in features}),
        "cell_count": len(features),
        "whole_hexagon_count": whole,
        "area_km2": round(sum(a for _, _, a in cells), 3),
    }
    return {"type": "FeatureCollection", "gridwatch": meta, "features": [f for _, f in features]}


def dumps_grid(doc: dict[str, Any]) -> str:
    """Serialise a grid FeatureCollection compactly, one feature per line (small, diffable)."""
    head = {k: v for k, v in doc.items() if k != "features"}
    opts: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}
    lines = [json.dumps(f, **opts) for f in doc["features"]]
    return json.dumps(head, **opts)[:-1] + ',"features":[\n' + ",\n".join(lines) + "\n]}\n"
