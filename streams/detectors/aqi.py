"""The Chinese Air Quality Index (HJ 633): IAQI per pollutant by breakpoints, AQI = max."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

Pollutant = Literal["pm25", "pm10", "so2", "no2", "o3", "co"]
Standard = Literal["HJ 633-2012", "HJ 633-2026"]

# Names as the published reports print them.
NAMES: dict[Pollutant, str] = {
    "pm25": "PM2.5",
    "pm10": "PM10",
    "so2": "SO2",
    "no2": "NO2",
    "o3": "O3",
    "co": "CO",
}

# HJ 633-2026 replaced HJ 633-2012 on 2026-03-01 (MEE announcement of February 2026, together
# with GB 3095-2026). Readings are judged by the table in force when they were taken, so a
# replay of older data gives the index that was published for it.
HJ633_2026_FROM = datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=8)))

# IAQI at each breakpoint (the first column of the breakpoint table).
IAQI_STEPS: tuple[int, ...] = (0, 50, 100, 150, 200, 300, 400, 500)

# Concentration breakpoints matching IAQI_STEPS, µg/m³ (CO mg/m³). Real-time readings use the
# 1-hour columns where the standard has them (SO2, NO2, CO, O3); the particulates have none and
# the standard's real-time report puts their 1-hour value on the 24-hour column, as here.
_GASES: dict[Pollutant, tuple[float, ...]] = {
    # The 1-hour SO2 column stops at 800 (IAQI 200); the standard reports 200 above it.
    "so2": (0, 150, 500, 650, 800),
    "no2": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "co": (0, 5, 10, 35, 60, 90, 120, 150),
    "o3": (0, 160, 200, 300, 400, 800, 1000, 1200),
}
# The 2026 revision changed only the particulates' IAQI-100 breakpoint (PM2.5 75 -> 60,
# PM10 150 -> 120), tracking the tighter 24-hour limits of GB 3095-2026.
BREAKPOINTS: dict[Standard, dict[Pollutant, tuple[float, ...]]] = {
    "HJ 633-2012": {
        "pm25": (0, 35, 75, 115, 150, 250, 350, 500),
        "pm10": (0, 50, 150, 250, 350, 420, 500, 600),
        **_GASES,
    },
    "HJ 633-2026": {
        "pm25": (0, 35, 60, 115, 150, 250, 350, 500),
        "pm10": (0, 50, 120, 250, 350, 420, 500, 600),
        **_GASES,
    },
}

# Category names of the published scale (优, 良, 轻度污染, ...), by upper IAQI bound.
LEVELS: tuple[tuple[int, str, str], ...] = (
    (50, "优", "excellent"),
    (100, "良", "good"),
    (150, "轻度污染", "lightly polluted"),
    (200, "中度污染", "moderately polluted"),
    (300, "重度污染", "heavily polluted"),
    (10**9, "严重污染", "severely polluted"),
)


def standard_at(time: datetime) -> Standard:
    """The edition of HJ 633 in force at `time`."""
    return "HJ 633-2026" if time >= HJ633_2026_FROM else "HJ 633-2012"


def iaqi(pollutant: Pollutant, concentration: float, standard: Standard = "HJ 633-2026") -> int:
    """The individual index of one pollutant, rounded up as the standard requires."""
    points = BREAKPOINTS[standard][pollutant]
    if concentration <= 0:
        return 0
    for i in range(1, len(points)):
        if concentration <= points[i]:
            lo, hi = points[i - 1], points[i]
            ilo, ihi = IAQI_STEPS[i - 1], IAQI_STEPS[i]
            value = ilo + (ihi - ilo) * (concentration - lo) / (hi - lo)
            # Rounding first keeps binary noise from lifting an exact index by one:
            # PM2.5 135.3 gives 150 + 50 * 20.3 / 35 = 179.00000000000003, which is 179.
            return math.ceil(round(value, 6))
    return IAQI_STEPS[len(points) - 1]


@dataclass(frozen=True)
class AqiResult:
    """AQI, the pollutant(s) that set it, and the level."""

    aqi: int
    primary: tuple[Pollutant, ...]
    level: str
    level_en: str

    @property
    def primary_names(self) -> str:
        """The primary pollutants as printed, e.g. PM2.5 or PM2.5+PM10; '-' when none."""
        return "+".join(NAMES[p] for p in self.primary) or "-"


def aqi(concentrations: dict[Pollutant, float], standard: Standard = "HJ 633-2026") -> AqiResult:
    """AQI over the given concentrations; primary pollutants only when AQI > 50."""
    indices = {p: iaqi(p, c, standard) for p, c in concentrations.items()}
    value = max(indices.values(), default=0)
    # Ties are all primary (并列为首要污染物); sorted so the result does not depend on order.
    primary = tuple(sorted(p for p, i in indices.items() if i == value)) if value > 50 else ()
    _, level, level_en = next(lv for lv in LEVELS if value <= lv[0])
    return AqiResult(aqi=value, primary=primary, level=level, level_en=level_en)
