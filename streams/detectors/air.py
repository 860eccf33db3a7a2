"""Air quality per station: the AQI of a rolling mean, raised and cleared with hysteresis.

Each reading joins its station's window (readings newer than `window_s` before the station's
newest reading). The station is judged at that newest time, `now`, by A: the AQI (HJ 633,
the edition in force at `now`) of the window's mean, or no A while fewer than `min_readings`
readings are in the window. Then, per station:

- normal: a reading with A >= alert_aqi starts or continues the stretch `above_since`; any
  other reading (A below alert_aqi, or no A) ends it. When now - above_since reaches
  alert_after_s (times 1 + the device's extra confirmations after false alarms), `raise`;
  the station is polluted.
- polluted: A at a higher severity than the last raise raises again at once (severity only
  climbs within an episode, so this cannot flap). A reading with A <= clear_aqi starts or
  continues `below_since`; any other reading ends it. When now - below_since reaches
  clear_after_s, `clear`; the station is normal.

So A between clear_aqi and alert_aqi neither raises nor clears: it ends a stretch toward
polluted while normal and a stretch toward normal while polluted.

A raise has severity_of(A) and, as evidence, the reading that began the stretch, the worst
reading on its own (of the stretch, or of the window it began with) and the latest. Raise
and clear name the station's device id as source_key. A gas enters the mean only when at
least `min_readings` readings of the window carry it.

A late reading inside the window is merged in time order and changes the mean; one at or
before the window's start is ignored (the state object is returned unchanged). A station
that falls silent keeps its state; its old readings leave the window on its next reading,
and until `min_readings` new ones arrive it has no A, which ends any stretch.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridwatch.detection_settings import AirSettings
from gridwatch.events import AirEvent
from gridwatch.findings import Finding, FindingAction
from gridwatch.incidents import Evidence, Severity
from gridwatch.records import RoutedEvent
from streams.detectors.aqi import AqiResult, Pollutant, aqi, standard_at
from streams.detectors.context import CellContext, evidence_of, finding

DETECTOR = "air/1"
TYPES = frozenset({"blue-sky.air"})
# Stations report every 1-5 min; one reporting more often than every 30 s keeps only its
# newest readings, so a station's row in the table stays a few tens of kB at most.
MAX_READINGS = 120


class Reading(BaseModel):
    """One reading in a station's window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    evidence: Evidence = Field(description="The event, as evidence should it count.")
    values: dict[Pollutant, float] = Field(description="Concentrations it carried.")
    aqi: int = Field(description="AQI of this reading alone (to find an episode's peak).")

    @property
    def time(self) -> datetime:
        """Event time of the reading."""
        return self.evidence.time


class Station(BaseModel):
    """One station's window, its AQI and where it stands between normal and polluted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    readings: tuple[Reading, ...] = Field((), description="The window, oldest first.")
    means: dict[Pollutant, float] = Field(
        default_factory=dict,
        description="Mean per pollutant carried by at least min_readings readings of the window.",
    )
    aqi: int | None = Field(None, description="AQI of the means; None with too few readings.")
    raised: Severity | None = Field(None, description="Severity last raised; None when normal.")
    above_since: AwareDatetime | None = Field(
        None, description="Start of the stretch at or above the alert level (the episode's)."
    )
    below_since: AwareDatetime | None = Field(
        None, description="Start of the stretch at or below the clear level, while polluted."
    )
    first: Evidence | None = Field(None, description="Reading that began the stretch.")
    peak: Reading | None = Field(
        None, description="Worst reading of the stretch or of the window it began with."
    )


class AirState(BaseModel):
    """The cell's air-quality stations, by device id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stations: dict[str, Station] = Field(default_factory=dict)


def severity_of(value: int) -> Severity:
    """Severity of an AQI: 151-200 MEDIUM, 201-300 HIGH, above 300 CRITICAL, else LOW."""
    if value > 300:
        return Severity.CRITICAL
    if value > 200:
        return Severity.HIGH
    return Severity.MEDIUM if value > 150 else Severity.LOW


def step(
    state: AirState, routed: RoutedEvent, ctx: CellContext, cfg: AirSettings
) -> tuple[AirState, list[Finding]]:
    """Take one station reading into its window and move the station's alert state."""
    event = routed.event
    if not isinstance(event, AirEvent):
        return state, []
    before = state.stations.get(routed.device_id, Station())
    reading = _reading(routed, event)
    readings = _window(before.readings, reading, cfg)
    if readings is None:
        return state, []
    now = readings[-1].time
    means = _means(readings, cfg.min_readings)
    # pm25 and pm10 are in every reading, so means is empty exactly when readings are too few.
    judged = aqi(means, standard_at(now)) if means else None
    station = before.model_copy(
        update={"readings": readings, "means": means, "aqi": judged.aqi if judged else None}
    )
    if station.raised is None:
        hold = cfg.alert_after_s * ctx.confirmations(routed.device_id, 1)
        station, findings = _watch(station, judged, now, routed, reading, hold, cfg)
    else:
        station, findings = _follow(station, station.raised, judged, now, routed, reading, cfg)
    return AirState(stations={**state.stations, routed.device_id: station}), findings


def _reading(routed: RoutedEvent, event: AirEvent) -> Reading:
    data = event.data
    values: dict[Pollutant, float | None] = {
        "pm25": data.pm25,
        "pm10": data.pm10,
        "so2": data.so2,
        "no2": data.no2,
        "o3": data.o3,
        "co": data.co,
    }
    measured = {p: v for p, v in values.items() if v is not None}
    own = aqi(measured, standard_at(event.time)).aqi
    return Reading(evidence=evidence_of(routed), values=measured, aqi=own)


def _window(
    readings: tuple[Reading, ...], reading: Reading, cfg: AirSettings
) -> tuple[Reading, ...] | None:
    """The window with `reading` merged in, or None when it is already too old to count."""
    newest = max(readings[-1].time, reading.time) if readings else reading.time
    start = newest - timedelta(seconds=cfg.window_s)
    if reading.time <= start:
        return None
    merged = sorted((*readings, reading), key=lambda r: r.time)
    return tuple(r for r in merged if r.time > start)[-MAX_READINGS:]


def _means(readings: tuple[Reading, ...], min_readings: int) -> dict[Pollutant, float]:
    series: dict[Pollutant, list[float]] = {}
    for reading in readings:
        for pollutant, value in reading.values.items():
            series.setdefault(pollutant, []).append(value)
    # A gas reported by one reading in twelve would otherwise set the AQI from one sample.
    return {p: sum(v) / len(v) for p, v in series.items() if len(v) >= max(min_readings, 1)}


def _watch(
    station: Station,
    judged: AqiResult | None,
    now: datetime,
    routed: RoutedEvent,
    reading: Reading,
    hold_s: int,
    cfg: AirSettings,
) -> tuple[Station, list[Finding]]:
    """Normal: raise once A has stayed at or above the alert level for `hold_s`."""
    if judged is None or judged.aqi < cfg.alert_aqi:
        return station.model_copy(update={"above_since": None, "first": None, "peak": None}), []
    above_since = station.above_since or now
    if station.above_since is None:
        # The stretch starts with the window that lifted the mean: its worst reading counts.
        start = {"above_since": now, "first": reading.evidence, "peak": _worst(station.readings)}
        station = station.model_copy(update=start)
    else:
        station = _with_peak(station, reading)
    if now - above_since < timedelta(seconds=hold_s):
        return station, []
    return _raise(station, judged, now, routed, reading, cfg)


def _follow(
    station: Station,
    raised: Severity,
    judged: AqiResult | None,
    now: datetime,
    routed: RoutedEvent,
    reading: Reading,
    cfg: AirSettings,
) -> tuple[Station, list[Finding]]:
    """Polluted: raise again when worse, clear once A has stayed at or below the clear level."""
    station = _with_peak(station, reading)
    if judged is not None and severity_of(judged.aqi) > raised:
        return _raise(station, judged, now, routed, reading, cfg)
    if judged is None or judged.aqi > cfg.clear_aqi:
        return station.model_copy(update={"below_since": None}), []
    below_since = station.below_since or now
    if now - below_since < timedelta(seconds=cfg.clear_after_s):
        return station.model_copy(update={"below_since": below_since}), []
    minutes = int((now - below_since).total_seconds()) // 60
    note = f"AQI {judged.aqi} {judged.level}, {minutes} min ≤ {cfg.clear_aqi}"
    return Station(readings=station.readings, means=station.means, aqi=station.aqi), [
        _finding(routed, "clear", raised, note, [])
    ]


def _raise(
    station: Station,
    judged: AqiResult,
    now: datetime,
    routed: RoutedEvent,
    reading: Reading,
    cfg: AirSettings,
) -> tuple[Station, list[Finding]]:
    """Raise at the severity of A, with the episode's first, worst and latest readings."""
    severity = severity_of(judged.aqi)
    minutes = int((now - (station.above_since or now)).total_seconds()) // 60
    note = (
        f"AQI {judged.aqi} {judged.level}, primary {judged.primary_names}, "
        f"{minutes} min ≥ {cfg.alert_aqi}"
    )
    picked = (station.first, station.peak.evidence if station.peak else None, reading.evidence)
    # In that order (not by time): the worst may predate the stretch it helped start.
    unique = {e.event_id: e for e in picked if e is not None}
    raised = _finding(routed, "raise", severity, note, list(unique.values()))
    return station.model_copy(update={"raised": severity, "below_since": None}), [raised]


def _worst(readings: tuple[Reading, ...]) -> Reading | None:
    """The reading with the highest AQI of its own; the earliest of equals."""
    return max(readings, key=lambda r: r.aqi, default=None)


def _with_peak(station: Station, reading: Reading) -> Station:
    if station.peak is not None and reading.aqi <= station.peak.aqi:
        return station
    return station.model_copy(update={"peak": reading})


def _finding(
    routed: RoutedEvent,
    action: FindingAction,
    severity: Severity,
    note: str,
    evidence: list[Evidence],
) -> Finding:
    return finding(
        routed,
        detector=DETECTOR,
        kind="hazard",
        category="air_pollution",
        severity=severity,
        note=note,
        action=action,
        evidence=evidence,
    )
