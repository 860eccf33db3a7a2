"""Coordinate transforms between WGS-84, GCJ-02 (Amap, Tencent) and BD-09 (Baidu); (lon, lat)."""

from __future__ import annotations

import math
from typing import Literal, get_args

Crs = Literal["wgs84", "gcj02", "bd09"]
CRS_NAMES: tuple[str, ...] = get_args(Crs)

# Krasovsky 1940 ellipsoid: the published GCJ-02 formula is defined on it, not on WGS-84's.
_A = 6378245.0
_EE = 0.00669342162296594323
# BD-09 rotates and scales GCJ-02 with this constant (pi * 3000 / 180).
_X_PI = math.pi * 3000.0 / 180.0
_EARTH_RADIUS_M = 6371008.8  # IUGG mean radius, for haversine distances

# GCJ-02 is only applied inside this box; outside China GCJ-02 == WGS-84.
_CHINA_LON = (73.66, 135.05)
_CHINA_LAT = (3.86, 53.55)

# The iterated inverse stops when the forward transform of the estimate is this close to the
# input: 1e-9 degrees is about 0.1 mm, far below the 0.5 m we promise.
_INVERSE_TOL_DEG = 1e-9
_INVERSE_MAX_STEPS = 20


def out_of_china(lon: float, lat: float) -> bool:
    """Whether (lon, lat) lies outside the box where GCJ-02 differs from WGS-84."""
    return not (_CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1])


def _shift_lat(x: float, y: float) -> float:
    """The published GCJ-02 latitude polynomial-plus-sines, in metres-ish units, at (x, y)."""
    s = 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    s += -100.0 + 2.0 * x + 3.0 * y
    s += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    s += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    s += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return s


def _shift_lon(x: float, y: float) -> float:
    """The published GCJ-02 longitude polynomial-plus-sines, in metres-ish units, at (x, y)."""
    s = 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    s += 300.0 + x + 2.0 * y
    s += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    s += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    s += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return s


def _gcj_offset(lon: float, lat: float) -> tuple[float, float]:
    """The (dlon, dlat) in degrees that GCJ-02 adds to a WGS-84 point (lon, lat)."""
    x, y = lon - 105.0, lat - 35.0
    rad_lat = math.radians(lat)
    magic = 1.0 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    # Convert the metre-like shifts to degrees with the Krasovsky radii of curvature.
    dlat = _shift_lat(x, y) * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = _shift_lon(x, y) * 180.0 / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS-84 (lon, lat) to GCJ-02 (lon, lat); identity outside China."""
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 (lon, lat) to WGS-84 (lon, lat) by fixed-point iteration, error well under 0.5 m."""
    if out_of_china(lon, lat):
        return lon, lat
    # The offset field is smooth (gradient ~1e-5), so the fixed-point step converges in ~3 steps;
    # a single step (subtracting the offset taken at the GCJ point) is off by 1-2 m.
    w_lon, w_lat = lon, lat
    for _ in range(_INVERSE_MAX_STEPS):
        g_lon, g_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = g_lon - lon, g_lat - lat
        w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
        if abs(e_lon) < _INVERSE_TOL_DEG and abs(e_lat) < _INVERSE_TOL_DEG:
            break
    return w_lon, w_lat


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 (lon, lat) to BD-09 (lon, lat), Baidu's published formula (applied everywhere)."""
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 (lon, lat) to GCJ-02 (lon, lat), the published inverse (error ~1 mm)."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """WGS-84 (lon, lat) to BD-09 (lon, lat) through GCJ-02."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 (lon, lat) to WGS-84 (lon, lat) through GCJ-02, with the iterated GCJ-02 inverse."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lon: float, lat: float, crs: Crs) -> tuple[float, float]:
    """Convert (lon, lat) given in `crs` to WGS-84 (lon, lat); ValueError on an unknown crs."""
    if crs == "wgs84":
        return lon, lat
    if crs == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if crs == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise ValueError(f"unknown crs {crs!r}; expected one of {', '.join(CRS_NAMES)}")


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between (lon1, lat1) and (lon2, lat2), mean-radius sphere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2.0) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2.0) ** 2
    return 2.0 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
