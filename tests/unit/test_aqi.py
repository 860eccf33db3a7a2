"""The HJ 633 AQI: worked examples checked by hand against the published tables.

Sources. HJ 633-2012 table 1 (the 2012 breakpoints, reproduced e.g. in hrbonz/python-aqi
aqi/algos/mep.py). HJ 633-2026 (MEE, February 2026, in force 2026-03-01,
mee.gov.cn/ywgz/fgbz/bz/bzwb/jcffbz/202602/t20260225_1144441.shtml): table 3 moves only the
particulates' IAQI-100 breakpoint, PM2.5 75 -> 60 and PM10 150 -> 120 µg/m³; the 1-hour SO2
column ends at 800 with IAQI 200 above it (note b); IAQI and AQI are rounded up to an integer
(4.2.6); with AQI > 50 the pollutant(s) with the highest IAQI are primary, ties all of them.
Formula (1): IAQI = IAQI_lo + (IAQI_hi - IAQI_lo) * (C - BP_lo) / (BP_hi - BP_lo).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from streams.detectors.aqi import Pollutant, Standard, aqi, iaqi, standard_at

OLD: Standard = "HJ 633-2012"
NEW: Standard = "HJ 633-2026"
CST = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("pollutant", "concentration", "standard", "expected"),
    [
        ("pm25", 0, NEW, 0),
        ("pm25", 35, NEW, 50),  # a breakpoint gives its own index, no rounding up
        ("pm25", 75, OLD, 100),  # 2012: 75 is the IAQI-100 breakpoint
        ("pm25", 75, NEW, 114),  # 2026: 100 + 50 * (75 - 60) / (115 - 60) = 113.6
        ("pm10", 150, OLD, 100),  # 2012: 150 is the IAQI-100 breakpoint
        ("pm10", 150, NEW, 112),  # 2026: 100 + 50 * (150 - 120) / (250 - 120) = 111.5
        ("pm25", 36, OLD, 52),  # 50 + 50 * 1 / 40 = 51.25: rounded up, not to nearest
        ("pm25", 0.1, NEW, 1),  # 50 * 0.1 / 35 = 0.14 still counts as 1
        ("pm25", 135.3, NEW, 179),  # 150 + 50 * 20.3 / 35 = 179 exactly (binary 179.0...03)
        ("pm25", 182, NEW, 232),  # 200 + 100 * (182 - 150) / (250 - 150) = 232
        ("pm25", 250, OLD, 300),  # unchanged above 115 in 2026
        ("pm25", 250, NEW, 300),
        ("pm25", 600, NEW, 500),  # beyond the table: the top of the scale
        ("pm10", 310, NEW, 180),  # 150 + 50 * (310 - 250) / 100 = 180
        ("co", 12, NEW, 104),  # 1-hour CO, mg/m³: 100 + 50 * (12 - 10) / (35 - 10) = 104
        ("co", 3.2, NEW, 32),  # 50 * 3.2 / 5 = 32
        ("no2", 350, NEW, 115),  # 1-hour NO2: 100 + 50 * (350 - 200) / (700 - 200) = 115
        ("o3", 180, NEW, 75),  # 1-hour O3: 50 + 50 * (180 - 160) / (200 - 160) = 75
        ("so2", 400, NEW, 86),  # 1-hour SO2: 50 + 50 * (400 - 150) / (500 - 150) = 85.7
        ("so2", 1000, NEW, 200),  # 1-hour SO2 above 800: reported as 200 (note b)
    ],
)
def test_individual_index(
    pollutant: Pollutant, concentration: float, standard: Standard, expected: int
) -> None:
    assert iaqi(pollutant, concentration, standard) == expected


@pytest.mark.parametrize(
    ("pm25", "expected", "level"),
    [
        (35, 50, "优"),
        (35.8, 51, "良"),  # 50 + 50 * 0.8 / 40 = 51
        (75, 100, "良"),
        (75.8, 101, "轻度污染"),
        (115, 150, "轻度污染"),
        (115.7, 151, "中度污染"),  # 150 + 50 * 0.7 / 35 = 151
        (150, 200, "中度污染"),
        (151, 201, "重度污染"),  # 200 + 100 * 1 / 100 = 201
        (250, 300, "重度污染"),
        (251, 301, "严重污染"),
    ],
)
def test_levels_change_at_the_published_bounds(pm25: float, expected: int, level: str) -> None:
    result = aqi({"pm25": pm25}, OLD)
    assert (result.aqi, result.level) == (expected, level)


def test_no_primary_pollutant_at_or_below_50() -> None:
    # PM2.5 20 -> 50 * 20 / 35 = 28.6 -> 29; PM10 30 -> 30.
    result = aqi({"pm25": 20, "pm10": 30}, NEW)
    assert (result.aqi, result.primary, result.primary_names, result.level) == (30, (), "-", "优")


def test_tied_pollutants_are_all_primary() -> None:
    # 2026: PM2.5 60 and PM10 120 are both the IAQI-100 breakpoint.
    result = aqi({"pm25": 60, "pm10": 120, "no2": 40}, NEW)
    assert (result.aqi, result.primary, result.primary_names) == (
        100,
        ("pm10", "pm25"),
        "PM10+PM2.5",
    )


def test_biomass_smoke_reading() -> None:
    # PM2.5 250 -> 300; PM10 310 -> 180; CO 3.2 -> 32; NO2 52 -> 26; O3 16 -> 5; SO2 13 -> 5.
    reading: dict[Pollutant, float] = {
        "pm25": 250,
        "pm10": 310,
        "co": 3.2,
        "no2": 52,
        "o3": 16,
        "so2": 13,
    }
    result = aqi(reading, NEW)
    assert (result.aqi, result.primary, result.level) == (300, ("pm25",), "重度污染")


def test_nothing_measured_is_excellent() -> None:
    assert aqi({}).aqi == 0


@pytest.mark.parametrize(
    ("time", "standard"),
    [
        (datetime(2026, 2, 28, 23, 59, 59, tzinfo=CST), OLD),
        (datetime(2026, 3, 1, 0, 0, tzinfo=CST), NEW),
        (datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC), OLD),  # 23:59:59 in Beijing
        (datetime(2026, 2, 28, 16, 0, tzinfo=UTC), NEW),  # midnight in Beijing
    ],
)
def test_the_edition_in_force_is_chosen_by_time(time: datetime, standard: Standard) -> None:
    assert standard_at(time) == standard
