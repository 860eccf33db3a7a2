"""Builders shared by the tests: device payloads and a small hand-made grid."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from gridwatch.grid.model import Grid

T0 = datetime(2026, 11, 28, 1, 14, 3, tzinfo=UTC)


def _square(cell_id: str, lon0: float, lat0: float, size: float) -> dict[str, Any]:
    ring = [
        [lon0, lat0],
        [lon0 + size, lat0],
        [lon0 + size, lat0 + size],
        [lon0, lat0 + size],
        [lon0, lat0],
    ]
    return {
        "type": "Feature",
        "properties": {
            "cell_id": cell_id,
            "township_id": "T01",
            "township_name": "Township 1",
            "village_id": "T01-V01",
            "village_name": "Village 1",
            "area_km2": 20.0,
        },
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def small_grid() -> Grid:
    """Two square cells side by side: west [114.30, 114.35) and east [114.35, 114.40)."""
    return Grid.from_features(
        [_square("west", 114.30, 35.90, 0.05), _square("east", 114.35, 35.90, 0.05)]
    )


def event(
    type_: str = "blue-sky.fire",
    *,
    device: str = "cam-0042",
    event_id: str = "cam-0042-000187",
    at: datetime = T0,
    lon: float = 114.32,
    lat: float = 35.92,
    crs: str = "wgs84",
    confidence: float = 0.91,
    **data: Any,
) -> dict[str, Any]:
    """A v1 CloudEvent as a device would publish it."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": f"urn:gridwatch:device:{device}",
        "type": type_,
        "time": at.isoformat(),
        "datacontenttype": "application/json",
        "data": {
            "confidence": confidence,
            "location": {"lat": lat, "lon": lon, "crs": crs},
            "snapshot": None,
            **data,
        },
    }


def payload(doc: dict[str, Any]) -> bytes:
    """JSON bytes of a document."""
    return json.dumps(doc).encode()


def later(seconds: float) -> datetime:
    """T0 plus some seconds."""
    return T0 + timedelta(seconds=seconds)
