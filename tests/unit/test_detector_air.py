"""The air-quality detector step, on plain lists of station readings.

Readings are dated after 2026-03-01, so HJ 633-2026 applies: PM2.5 µg/m³ -> IAQI used below
are 30 -> 43, 82 -> 120, 104 -> 140, 122 -> 160, 130 -> 172, 200 -> 250, 250 -> 300.
PM10 is sent at PM2.5 / 0.8 and stays below PM2.5's index, so PM2.5 is primary throughout.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gridwatch.detection_settings import AirSettings
from gridwatch.findings import Finding
from gridwatch.incidents import Severity
from gridwatch.records import RoutedEvent
from ingest.validate import route_message
from streams.detectors.air import MAX_READINGS, AirState, severity_of, step
from streams.detectors.context import CellContext
from tests.support import T0, event, later, payload, small_grid

GRID = small_grid()
CFG = AirSettings()
# The mean of a one-second window is the newest reading alone: the state machine's timers can
# then be checked reading by reading.
SHARP = AirSettings(window_s=1, min_readings=1)
FIXTURE = Path(__file__).parents[1] / "fixtures/events/blue-sky.air/straw-burning-episode.json"
STATION = "aq-0107"


def routed(doc: dict[str, Any]) -> RoutedEvent:
    device = doc["source"].rsplit(":", 1)[1]
    topic = f"gridwatch/v1/blue-sky/{device}/events"
    result = route_message(topic, payload(doc), grid=GRID, received_at=T0)
    assert isinstance(result, RoutedEvent), result
    return result


def reading(
    minute: float, pm25: float, device: str = STATION, lon: float = 114.32, **gases: float
) -> RoutedEvent:
    seconds = round(minute * 60)
    doc = event(
        "blue-sky.air",
        device=device,
        event_id=f"{device}-{seconds:06d}",
        at=later(seconds),
        lon=lon,
        confidence=1.0,
        pm25=pm25,
        pm10=pm25 / 0.8,
    )
    doc["data"].update(gases)
    return routed(doc)


def series(pm25: Iterable[float], start: float = 0, every: float = 5) -> list[RoutedEvent]:
    return [reading(start + i * every, value) for i, value in enumerate(pm25)]


def run(
    events: Iterable[RoutedEvent],
    state: AirState | None = None,
    cfg: AirSettings = CFG,
    ctx: CellContext | None = None,
) -> tuple[AirState, list[Finding]]:
    state = state or AirState()
    out: list[Finding] = []
    for e in events:
        state, found = step(state, e, ctx or CellContext(cell_id=e.cell_id), cfg)
        out.extend(found)
    return state, out


def actions(found: Sequence[Finding]) -> list[tuple[str, Severity]]:
    return [(f.action, f.severity) for f in found]


def episode() -> list[RoutedEvent]:
    """Straw burning: 2 h clean, 30 min of rising smoke, 1 h at 250, then 3 h clean."""
    rising = [35 + (250 - 35) * i / 6 for i in range(1, 7)]
    return series([35] * 24 + rising + [250] * 12 + [30] * 36)


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        (150, Severity.LOW),
        (151, Severity.MEDIUM),  # 中度污染 151-200
        (200, Severity.MEDIUM),
        (201, Severity.HIGH),  # 重度污染 201-300
        (300, Severity.HIGH),
        (301, Severity.CRITICAL),  # 严重污染 above 300
        (500, Severity.CRITICAL),
    ],
)
def test_severity_follows_the_published_levels(value: int, severity: Severity) -> None:
    assert severity_of(value) == severity


def test_clean_air_never_raises() -> None:
    state, found = run(series([30 + 20 * ((i % 7) - 3) / 3 for i in range(288)]))
    assert found == []
    assert state.stations[STATION].aqi is not None


def test_straw_burning_raises_once_and_clears_once() -> None:
    state, found = run(episode())
    assert actions(found) == [("raise", Severity.HIGH), ("clear", Severity.HIGH)]
    raised, cleared = found
    # The stretch began with the first reading whose window mean reached AQI 151.
    assert raised.time - raised.evidence[0].time == timedelta(seconds=CFG.alert_after_s)
    assert raised.note.startswith("AQI ") and "重度污染, primary PM2.5, 30 min ≥ 151" in raised.note
    assert (raised.kind, raised.category, raised.detector) == ("hazard", "air_pollution", "air/1")
    assert raised.source_key == cleared.source_key == STATION
    assert raised.opening_key == f"{STATION}/{raised.evidence[-1].event_id}"
    assert cleared.evidence == [] and cleared.note.endswith("30 min ≤ 100")
    assert state.stations[STATION].raised is None


def test_worse_levels_raise_again_and_better_ones_do_not() -> None:
    # 172 (MEDIUM) for 90 min, 250 (HIGH) for 90 min, back to 172 for 90 min.
    _, found = run(series([130] * 18 + [200] * 18 + [130] * 18))
    assert actions(found) == [("raise", Severity.MEDIUM), ("raise", Severity.HIGH)]
    assert found[0].source_key == found[1].source_key == STATION
    assert len(found[1].evidence) <= 3


def test_evidence_is_the_first_the_worst_and_the_latest_reading() -> None:
    # The hour's mean reaches AQI 151 at minute 145 (reading 29), after the 290 spike of
    # reading 27 that helped lift it; the raise comes 30 min later, at reading 35.
    _, found = run(series([35] * 24 + [150, 180, 230, 290] + [240] * 14))
    assert len(found) == 1
    ids = [e.event_id for e in found[0].evidence]
    assert ids == [f"{STATION}-{n * 300:06d}" for n in (29, 27, 35)]
    assert found[0].opening_key == f"{STATION}/{ids[-1]}"


@pytest.mark.parametrize(
    "pattern",
    [
        [104, 122],  # AQI 140 / 160 every 5 min
        [90, 140],  # AQI 128 / 186
        [100, 100, 100, 140, 140, 140],  # the window mean wobbles across 151
        [82, 82, 82, 82, 160, 160, 160, 160],
    ],
)
def test_values_around_the_alert_level_never_flap(pattern: list[float]) -> None:
    values = (pattern * 200)[:96]  # 8 hours
    _, found = run(series(values))
    assert [f.action for f in found] in ([], ["raise"])
    _, found = run(episode()[:48] + series(values, start=48 * 5))
    assert [f.action for f in found] == ["raise"]


def test_hysteresis_band_neither_clears_nor_raises() -> None:
    polluted, found = run(series([250] * 12))
    assert [f.action for f in found] == ["raise"]
    state, found = run(series([82] * 72, start=60), polluted)  # AQI 120 for 6 hours
    assert found == []
    assert state.stations[STATION].raised == Severity.HIGH


def test_alert_stretch_restarts_after_a_reading_below_the_alert_level() -> None:
    values = [200] * 6 + [104] + [200] * 7  # minute 30 is AQI 140
    _, found = run(series(values), cfg=SHARP)
    assert [f.time for f in found] == [later(65 * 60)]  # 30 min after minute 35


def test_clear_stretch_restarts_after_a_reading_above_the_clear_level() -> None:
    polluted, _ = run(series([200] * 7), cfg=SHARP)
    values = [30] * 5 + [82] + [30] * 7  # minute 60 is AQI 120
    _, found = run(series(values, start=35), polluted, cfg=SHARP)
    assert [(f.action, f.time) for f in found] == [("clear", later(95 * 60))]


def test_a_device_with_false_alarms_needs_a_longer_stretch() -> None:
    ctx = CellContext(cell_id="west", extra_confirmations={STATION: 1})
    _, found = run(series([200] * 14), cfg=SHARP, ctx=ctx)
    assert [f.time for f in found] == [later(60 * 60)]


def test_too_few_readings_judge_nothing() -> None:
    state, found = run(series([400] * 12, every=61))
    assert found == []
    station = state.stations[STATION]
    assert (station.aqi, station.means, len(station.readings)) == (None, {}, 1)


def test_a_gas_counts_only_when_enough_readings_carry_it() -> None:
    events = series([30] * 10) + [reading(50 + i * 5, 30, so2=1000) for i in range(2)]
    state, _ = run(events)
    assert "so2" not in state.stations[STATION].means  # two samples of twelve
    state, _ = run([reading(60, 30, so2=1000)], state)
    station = state.stations[STATION]
    assert (station.means["so2"], station.aqi) == (1000, 200)  # 1-hour SO2 above 800: 200


def test_two_stations_in_a_cell_are_independent() -> None:
    a = series([250] * 12 + [30] * 24)
    b = [reading(i * 5 + 1, 30, device="aq-0108", lon=114.33) for i in range(36)]
    b += [reading(i * 5 + 1, 250, device="aq-0108", lon=114.33) for i in range(36, 48)]
    merged = sorted(a + b, key=lambda e: e.event.time)
    _, found = run(merged)
    assert [(f.source_key, f.action) for f in found] == [
        (STATION, "raise"),
        (STATION, "clear"),
        ("aq-0108", "raise"),
    ]
    assert {f.cell_id for f in found} == {"west"}


def test_state_round_trips_through_json_and_resumes_the_same() -> None:
    events = episode()
    _, expected = run(events)
    state, found = AirState(), []
    for e in events:
        restored = AirState.model_validate(json.loads(json.dumps(state.model_dump(mode="json"))))
        assert restored == state
        state, out = step(restored, e, CellContext(cell_id=e.cell_id), CFG)
        found.extend(out)
    assert found == expected


def test_a_reading_older_than_the_window_is_ignored() -> None:
    state, _ = run(series([30] * 25))  # up to minute 120
    new, found = step(state, reading(50, 500), CellContext(cell_id="west"), CFG)
    assert new is state and found == []


def test_a_late_reading_inside_the_window_is_merged_in_time_order() -> None:
    state, _ = run(series([30] * 25))
    new, _ = step(state, reading(112.5, 30), CellContext(cell_id="west"), CFG)
    times = [r.time for r in new.stations[STATION].readings]
    assert times == sorted(times) and len(times) == len(state.stations[STATION].readings) + 1


def test_a_station_back_from_silence_is_judged_on_new_readings_only() -> None:
    polluted, _ = run(series([250] * 12))
    state, found = run(series([30] * 2, start=240), polluted)
    assert found == [] and len(state.stations[STATION].readings) == 2
    _, found = run(series([30] * 7, start=250), state)
    assert [(f.action, f.time) for f in found] == [("clear", later(280 * 60))]


def test_the_window_stays_bounded() -> None:
    state, _ = run(series([30] * 400, every=1 / 12))
    assert len(state.stations[STATION].readings) == MAX_READINGS


def test_other_events_leave_the_state_alone() -> None:
    state, _ = run(series([30] * 3))
    fire = routed(event("blue-sky.fire", device="cam-0042"))
    new, found = step(state, fire, CellContext(cell_id="west"), CFG)
    assert new is state and found == []


def test_recorded_straw_burning_episode() -> None:
    events = [routed(doc) for doc in json.loads(FIXTURE.read_text())]
    _, found = run(events)
    assert actions(found) == [
        ("raise", Severity.HIGH),
        ("raise", Severity.CRITICAL),
        ("clear", Severity.CRITICAL),
    ]
    first, worse, cleared = found
    assert first.time.isoformat() == "2026-10-12T19:20:00+08:00"
    assert cleared.time.isoformat() == "2026-10-12T21:55:00+08:00"
    assert {f.source_key for f in found} == {"aq-0107"} and {f.cell_id for f in found} == {"east"}
    for raised in (first, worse):
        assert "primary PM2.5" in raised.note and 1 <= len(raised.evidence) <= 3
        assert raised.evidence[0].time.isoformat() == "2026-10-12T18:50:00+08:00"
