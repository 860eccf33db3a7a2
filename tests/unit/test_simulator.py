"""The simulated feeds: repeatable, valid under the contract, and each scenario detected."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gridwatch.detection_settings import DetectSettings
from gridwatch.devices import DeviceStatus
from gridwatch.grid.model import Grid
from gridwatch.incidents import IncidentDetected
from gridwatch.records import RoutedEvent
from gridwatch.rejections import Rejection
from ingest.sim_fleet import Device, place_fleet
from ingest.sim_traffic import Message, Scenario, Traffic, counts_by_kind
from ingest.validate import route_message, route_status
from streams.runner import Pipeline

GRID_FILE = Path(__file__).resolve().parents[2] / "gridwatch" / "data" / "tangyin" / "grid.geojson"
START = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def grid() -> Grid:
    return Grid.load(GRID_FILE)


def run(traffic: Traffic, minutes: float, step_s: float = 10.0) -> list[Message]:
    """Everything the traffic sends in the first `minutes`, polled every `step_s`."""
    sent: list[Message] = []
    now = START
    while now <= START + timedelta(minutes=minutes):
        sent += traffic.due(now)
        now += timedelta(seconds=step_s)
    return sent


def routed(message: Message, grid: Grid) -> RoutedEvent | DeviceStatus | Rejection:
    """What the bridge makes of a message."""
    if message.topic.endswith("/status"):
        return route_status(message.topic, message.payload, received_at=message.at)
    return route_message(message.topic, message.payload, grid=grid, received_at=message.at)


def test_the_same_seed_gives_the_same_county_and_traffic(grid: Grid) -> None:
    def county(seed: int) -> list[Message]:
        fleet = place_fleet(grid, 120, random.Random(seed))
        return run(Traffic(fleet, seed=seed, rate=1.0, start=START), minutes=10)

    first = county(7)
    assert first == county(7)
    assert first != county(8)


def test_the_fleet_lies_in_the_county_in_its_shares(grid: Grid) -> None:
    fleet = place_fleet(grid, 400, random.Random(1))
    assert counts_by_kind(fleet) == {"camera": 280, "fire_camera": 72, "air_station": 48}
    assert len({d.id for d in fleet}) == len(fleet)
    for device in fleet:
        located = grid.locate(device.lon, device.lat)
        assert located is not None and located.id == device.cell_id


def test_every_message_passes_the_bridge(grid: Grid) -> None:
    fleet = place_fleet(grid, 200, random.Random(3))
    sent = run(Traffic(fleet, seed=3, rate=5.0, start=START), minutes=30)
    types = set()
    for message in sent:
        record = routed(message, grid)
        assert not isinstance(record, Rejection), (message, record)
        if isinstance(record, RoutedEvent):
            types.add(record.event.type)
    # Half an hour at five times the rate brings most kinds of trouble.
    assert {"sharp-eyes.motion", "sharp-eyes.crowd", "blue-sky.air"} <= types
    assert len(types) >= 6


def test_the_rate_knob_scales_events_and_trouble(grid: Grid) -> None:
    fleet = place_fleet(grid, 200, random.Random(4))
    calm, busy = (Traffic(fleet, seed=4, rate=r, start=START) for r in (1.0, 10.0))

    def motion(sent: list[Message]) -> int:
        return sum(b"sharp-eyes.motion" in m.payload for m in sent)

    # Heartbeats and air readings keep their pace: only the happenings scale.
    assert motion(run(busy, 60)) > 5 * motion(run(calm, 60))
    assert len(busy.happened) > 4 * len(calm.happened)


def test_a_rate_of_zero_is_refused(grid: Grid) -> None:
    with pytest.raises(ValueError, match="rate must be above 0"):
        Traffic([], seed=1, rate=0, start=START)


def detected(grid: Grid, traffic: Traffic, minutes: float) -> list[IncidentDetected]:
    """The incidents the detectors open from the traffic, ticking their clock as streams does."""
    pipeline = Pipeline(DetectSettings(), grid)
    found = []
    now, tick_every = START, timedelta(seconds=30)
    next_tick = START
    while now <= START + timedelta(minutes=minutes):
        for message in traffic.due(now):
            record = routed(message, grid)
            assert not isinstance(record, Rejection)
            found += pipeline.feed(record)
        if now >= next_tick:
            found += pipeline.tick(now)
            next_tick += tick_every
        now += timedelta(seconds=10)
    return [r for r in found if isinstance(r, IncidentDetected)]


@pytest.mark.parametrize(
    ("scenario", "lead", "categories", "minutes"),
    [
        # Smoke is seen first; the flames turn the incident into a fire.
        ("straw_fire", "fire_camera", ["smoke", "fire"], 10),
        ("pollution", "air_station", ["air_pollution"], 140),
        ("crowd", "counter", ["crowd"], 12),
        ("quarrel", "counter", ["gathering"], 5),
        ("fight", "camera", ["fight"], 5),
        ("near_water", "watcher", ["intrusion"], 5),
        ("fall", "camera", ["fall"], 5),
        # A counting camera: it has sent events, so the county knows its cell.
        ("offline", "counter", ["no_signal"], 20),
    ],
)
def test_each_scenario_is_detected_as_its_incident(
    grid: Grid, scenario: Scenario, lead: str, categories: list[str], minutes: float
) -> None:
    cell = grid.cells[100]
    lon, lat = cell.centroid
    device = Device(
        id="sim-lead",
        kind="camera" if lead in ("camera", "counter", "watcher") else lead,  # type: ignore[arg-type]
        cell_id=cell.id,
        lon=lon,
        lat=lat,
        zone="riverbank" if lead == "watcher" else None,
        counts_people=lead == "counter",
    )
    # No trouble at random: an hour between scenarios is far beyond the test's window.
    traffic = Traffic([device], seed=5, rate=1e-6, start=START)
    # Warm up first: the station's clean hour, the camera's first heartbeats and events.
    traffic.stage(
        scenario, device, START + timedelta(minutes=minutes / 2 if scenario == "pollution" else 3)
    )
    seen = [i.category for i in detected(grid, traffic, minutes)]
    assert list(dict.fromkeys(seen)) == categories
