"""WGS-84 / GCJ-02 / BD-09 transforms checked on published vectors and by round trips."""

from __future__ import annotations

import random

import pytest

from gridwatch.geo import crs
from gridwatch.geo.crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    haversine_m,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

Point = tuple[float, float]

# wandergis/coordtransform, test/app.js: every function applied to (116.404, 39.915), results
# printed with full double precision in the "//result" comment block.
CT_INPUT: Point = (116.404, 39.915)
CT_WGS_TO_GCJ: Point = (116.41024449916938, 39.91640428150164)
CT_GCJ_TO_BD: Point = (116.41036949371029, 39.92133699351021)
CT_BD_TO_GCJ: Point = (116.39762729119315, 39.90865673957631)
# coordtransform's gcj02towgs84 is the one-step inverse, so it is only a reference to ~1-2 m.
CT_GCJ_TO_WGS_ONE_STEP: Point = (116.39775550083061, 39.91359571849836)

# googollee/eviltransform, python/test.py TESTS (same table in go/transform_test.go and
# javascript/test.js), reordered from (wgsLat, wgsLng, gcjLat, gcjLng) to (lon, lat) pairs.
EVIL_WGS_GCJ: list[tuple[str, Point, Point]] = [
    ("shanghai", (121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ("shenzhen", (113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ("beijing", (116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
]

# Position-offset service doc (SE_SH service, map.yiweihang.com/kaifa/deviation.jsp): WGS-84
# inputs and their GCJ-02 outputs, printed to 6 decimals.
SE_SH_WGS_GCJ: list[tuple[Point, Point]] = [
    ((116.36657, 39.95094), (116.372789, 39.952320)),
    ((115.21657, 38.95032), (115.222782, 38.951179)),
]

# Alibaba Cloud address-purification "TransferCoord" API doc (help.aliyun.com, coordinate system
# conversion): one GCJ-02 input with its BD-09 and WGS-84 outputs, 6 decimals. Its WGS-84 value
# equals the one-step inverse to the last digit, so it is a 1-2 m reference only.
ALIYUN_GCJ: Point = (120.026268, 30.279164)
ALIYUN_BD: Point = (120.032768, 30.285238)
ALIYUN_WGS_ONE_STEP: Point = (120.021519, 30.281543)

HALF_ULP_6_DECIMALS = 5e-7 + 1e-9


def close(a: Point, b: Point, tol: float) -> bool:
    """Whether two (lon, lat) points agree to `tol` degrees in both coordinates."""
    return abs(a[0] - b[0]) <= tol and abs(a[1] - b[1]) <= tol


def test_coordtransform_forward_vectors() -> None:
    assert close(wgs84_to_gcj02(*CT_INPUT), CT_WGS_TO_GCJ, 1e-12)
    assert close(gcj02_to_bd09(*CT_INPUT), CT_GCJ_TO_BD, 1e-12)
    assert close(bd09_to_gcj02(*CT_INPUT), CT_BD_TO_GCJ, 1e-12)


def test_coordtransform_inverse_is_near_one_step_and_exact_forward() -> None:
    wgs = gcj02_to_wgs84(*CT_INPUT)
    assert haversine_m(*wgs, *CT_GCJ_TO_WGS_ONE_STEP) < 2.0
    assert close(wgs84_to_gcj02(*wgs), CT_INPUT, 1e-8)


@pytest.mark.parametrize(("name", "wgs", "gcj"), EVIL_WGS_GCJ)
def test_eviltransform_vectors(name: str, wgs: Point, gcj: Point) -> None:
    assert close(wgs84_to_gcj02(*wgs), gcj, 1e-9), name
    # eviltransform's own bar for its exact inverse is 0.5 m; ours should be far inside it.
    assert haversine_m(*gcj02_to_wgs84(*gcj), *wgs) < 0.01, name


@pytest.mark.parametrize(("wgs", "gcj"), SE_SH_WGS_GCJ)
def test_vendor_offset_service_vectors(wgs: Point, gcj: Point) -> None:
    assert close(wgs84_to_gcj02(*wgs), gcj, HALF_ULP_6_DECIMALS)


def test_aliyun_vectors() -> None:
    assert close(gcj02_to_bd09(*ALIYUN_GCJ), ALIYUN_BD, HALF_ULP_6_DECIMALS)
    wgs = gcj02_to_wgs84(*ALIYUN_GCJ)
    assert haversine_m(*wgs, *ALIYUN_WGS_ONE_STEP) < 2.5
    # The iterated inverse maps back onto the input; the vendor's one-step value does not.
    ours_back = haversine_m(*wgs84_to_gcj02(*wgs), *ALIYUN_GCJ)
    theirs_back = haversine_m(*wgs84_to_gcj02(*ALIYUN_WGS_ONE_STEP), *ALIYUN_GCJ)
    assert ours_back < 0.01 < theirs_back


def sample_china(n: int, seed: int = 410523) -> list[Point]:
    """`n` random WGS-84 (lon, lat) points inside the box where GCJ-02 applies."""
    rng = random.Random(seed)
    return [(rng.uniform(74.0, 134.5), rng.uniform(4.5, 53.0)) for _ in range(n)]


def test_gcj_round_trip_under_half_a_metre_across_china() -> None:
    worst = max(haversine_m(*gcj02_to_wgs84(*wgs84_to_gcj02(*p)), *p) for p in sample_china(3000))
    assert worst < 0.5


def test_bd_round_trip_under_half_a_metre_across_china() -> None:
    worst = max(haversine_m(*bd09_to_wgs84(*wgs84_to_bd09(*p)), *p) for p in sample_china(3000))
    assert worst < 0.5


def test_offset_is_hundreds_of_metres_in_tangyin() -> None:
    # Tangyin County centre, WGS-84: Amap tiles are shifted by roughly half a kilometre here.
    p = (114.36, 35.92)
    assert 300.0 < haversine_m(*wgs84_to_gcj02(*p), *p) < 800.0


def test_outside_china_gcj_is_wgs() -> None:
    for p in [(2.3522, 48.8566), (-74.006, 40.7128), (151.2093, -33.8688)]:
        assert wgs84_to_gcj02(*p) == p
        assert gcj02_to_wgs84(*p) == p


def test_to_wgs84_dispatches_on_crs() -> None:
    p = (114.36, 35.92)
    assert to_wgs84(*p, "wgs84") == p
    assert to_wgs84(*p, "gcj02") == gcj02_to_wgs84(*p)
    assert to_wgs84(*p, "bd09") == bd09_to_wgs84(*p)
    with pytest.raises(ValueError, match="unknown crs 'utm'"):
        to_wgs84(*p, "utm")  # type: ignore[arg-type]


def test_crs_names_match_literal() -> None:
    assert crs.CRS_NAMES == ("wgs84", "gcj02", "bd09")


def test_haversine_one_degree_of_latitude() -> None:
    assert haversine_m(114.0, 35.0, 114.0, 36.0) == pytest.approx(111_195.0, rel=1e-4)
