"""The simulated feeds: everyday traffic of a county's devices, and now and then an incident.

Pure and seeded: the same fleet, seed, rate and start give the same messages at the same
times, so a demo or a test can be repeated. The caller owns the clock (`due(now)`).
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from ingest.sim_fleet import Device, DeviceKind

CHINA = timezone(timedelta(hours=8))
HEARTBEAT_S = 60.0
READING_S = 60.0
COUNT_S = 60.0
CROWD_COUNT_S = 20.0
# One motion event per camera every five minutes, and one incident every two, at rate 1.
MOTION_S = 300.0
SCENARIO_S = 120.0
Scenario = Literal[
    "straw_fire", "pollution", "crowd", "quarrel", "fight", "near_water", "fall", "offline"
]
# How often each kind of trouble comes, relative to the others.
SCENARIO_WEIGHTS: dict[Scenario, int] = {
    "straw_fire": 3,
    "pollution": 1,
    "crowd": 2,
    "quarrel": 2,
    "fight": 1,
    "near_water": 2,
    "fall": 1,
    "offline": 2,
}
# Which devices can play a part in each.
CAST: dict[Scenario, Callable[[Device], bool]] = {
    "straw_fire": lambda d: d.kind == "fire_camera",
    "pollution": lambda d: d.kind == "air_station",
    "crowd": lambda d: d.counts_people,
    "quarrel": lambda d: d.counts_people,
    "fight": lambda d: d.kind == "camera",
    "near_water": lambda d: d.zone is not None,
    "fall": lambda d: d.kind == "camera",
    "offline": lambda _d: True,
}
# A dirty-air episode must outlast the 1-hour mean and the 30-minute stretch before it raises.
POLLUTION_S = 80 * 60.0
CROWD_S = 6 * 60.0
OFFLINE_S = (12 * 60.0, 40 * 60.0)

Action = Literal["heartbeat", "reading", "count", "motion", "scenario"]
Spell = Literal["silent", "polluted", "crowded"]


@dataclass(frozen=True)
class Message:
    """One MQTT publish: when, where, what."""

    at: datetime
    topic: str
    payload: bytes


@dataclass(frozen=True)
class Happening:
    """A scenario that started: for the log line and for tests."""

    at: datetime
    scenario: Scenario
    device_id: str
    cell_id: str


class Traffic:
    """Everything the fleet sends, in time order, with incidents at random (seeded) moments."""

    def __init__(self, fleet: list[Device], *, seed: int, rate: float, start: datetime) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be above 0 (got {rate})")
        self._fleet = fleet
        self._rng = random.Random(seed)
        self._rate = rate
        self._order = itertools.count()
        self._plan: list[tuple[datetime, int, Action, int]] = []
        self._out: list[tuple[datetime, int, Message]] = []
        self._serial: dict[str, int] = {}
        # (state, device id) → the stretch of time it holds: silent, polluted or crowded.
        self._spells: dict[tuple[Spell, str], tuple[datetime, datetime]] = {}
        self.happened: list[Happening] = []
        for index, device in enumerate(fleet):
            self._later(start, self._rng.uniform(0, HEARTBEAT_S), "heartbeat", index)
            if device.kind == "air_station":
                self._later(start, self._rng.uniform(0, READING_S), "reading", index)
            if device.counts_people:
                self._later(start, self._rng.uniform(0, COUNT_S), "count", index)
            if device.kind == "camera":
                self._later(start, self._motion_gap(), "motion", index)
        self._later(start, self._rng.expovariate(rate / SCENARIO_S), "scenario", -1)

    def _in_spell(self, spell: Spell, device: Device, at: datetime) -> bool:
        begins, ends = self._spells.get((spell, device.id), (at, at))
        return begins <= at < ends

    def _spell(self, spell: Spell, device: Device, at: datetime, seconds: float) -> None:
        self._spells[(spell, device.id)] = (at, at + timedelta(seconds=seconds))

    def _motion_gap(self) -> float:
        return self._rng.expovariate(self._rate / MOTION_S)

    def _later(self, now: datetime, seconds: float, action: Action, index: int) -> None:
        heapq.heappush(
            self._plan, (now + timedelta(seconds=seconds), next(self._order), action, index)
        )

    def _send(self, at: datetime, topic: str, payload: bytes) -> None:
        heapq.heappush(self._out, (at, next(self._order), Message(at, topic, payload)))

    def _event(
        self, device: Device, at: datetime, type_: str, confidence: float, **data: Any
    ) -> None:
        """Publish one v1 CloudEvent from `device` at `at`, unless it is silent then."""
        if self._in_spell("silent", device, at):
            return
        serial = self._serial.get(device.id, 0) + 1
        self._serial[device.id] = serial
        doc = {
            "specversion": "1.0",
            "id": f"{device.id}-{serial:08d}",
            "source": f"urn:gridwatch:device:{device.id}",
            "type": type_,
            "time": at.astimezone(CHINA).isoformat(timespec="seconds"),
            "datacontenttype": "application/json",
            "data": {
                "confidence": round(confidence, 2),
                "location": {"lat": device.lat, "lon": device.lon, "crs": "wgs84"},
                "snapshot": None,
                **data,
            },
        }
        self._send(at, device.topic("events"), json.dumps(doc, separators=(",", ":")).encode())

    def due(self, now: datetime) -> list[Message]:
        """Every message due at or before `now`, oldest first; later ones stay planned."""
        while self._plan and self._plan[0][0] <= now:
            at, _, action, index = heapq.heappop(self._plan)
            self._act(at, action, index)
        ready = []
        while self._out and self._out[0][0] <= now:
            ready.append(heapq.heappop(self._out)[2])
        return ready

    def _act(self, at: datetime, action: Action, index: int) -> None:
        if action == "scenario":
            self._start_scenario(at)
            self._later(at, self._rng.expovariate(self._rate / SCENARIO_S), "scenario", -1)
            return
        device = self._fleet[index]
        if action == "heartbeat":
            if not self._in_spell("silent", device, at):
                self._send(at, device.topic("status"), b"online")
            self._later(at, HEARTBEAT_S, "heartbeat", index)
        elif action == "reading":
            self._reading(device, at)
            self._later(at, READING_S, "reading", index)
        elif action == "count":
            crowded = self._in_spell("crowded", device, at)
            count = self._rng.randint(130, 190) if crowded else self._rng.randint(0, 25)
            self._event(device, at, "sharp-eyes.crowd", self._rng.uniform(0.7, 0.95), count=count)
            self._later(at, CROWD_COUNT_S if crowded else COUNT_S, "count", index)
        else:
            self._event(device, at, "sharp-eyes.motion", self._rng.uniform(0.5, 0.99))
            self._later(at, self._motion_gap(), "motion", index)

    def _reading(self, device: Device, at: datetime) -> None:
        """An air station's minute reading: clean county air, or an episode's smoke and dust."""
        rng = self._rng
        dirty = self._in_spell("polluted", device, at)
        pm25 = rng.gauss(260, 25) if dirty else rng.gauss(32, 8)
        pm10 = pm25 * rng.uniform(1.4, 1.8)
        self._event(
            device,
            at,
            "blue-sky.air",
            0.99,
            pm25=round(max(pm25, 3.0), 1),
            pm10=round(max(pm10, 5.0), 1),
            so2=round(max(rng.gauss(9, 3), 1.0), 1),
            no2=round(max(rng.gauss(28, 7), 1.0), 1),
            o3=round(max(rng.gauss(60, 15), 1.0), 1),
            co=round(max(rng.gauss(0.7, 0.2), 0.1), 2),
        )

    def _start_scenario(self, at: datetime) -> None:
        names = list(SCENARIO_WEIGHTS)
        self.begin(self._rng.choices(names, weights=[SCENARIO_WEIGHTS[n] for n in names])[0], at)

    def begin(self, scenario: Scenario, at: datetime) -> None:
        """Start `scenario` at `at` with a device of the fleet that can play it, if any."""
        cast = [d for d in self._fleet if CAST[scenario](d)]
        if cast:
            self.stage(scenario, self._rng.choice(cast), at)

    def stage(self, scenario: Scenario, device: Device, at: datetime) -> None:
        """Start `scenario` with `device` in the lead at `at` (tests and demos call it too)."""
        rng = self._rng
        self.happened.append(Happening(at, scenario, device.id, device.cell_id))
        if scenario == "straw_fire":
            # Smoke first, seen again and again by the tower, then the flames.
            for n in range(4):
                seconds = 40.0 * n + rng.uniform(0, 10)
                self._event(device, at + timedelta(seconds=seconds), "blue-sky.smoke", 0.75)
            for n in range(2):
                seconds = 200.0 + 30 * n
                self._event(device, at + timedelta(seconds=seconds), "blue-sky.fire", 0.88)
        elif scenario == "pollution":
            self._spell("polluted", device, at, POLLUTION_S)
        elif scenario == "crowd":
            self._spell("crowded", device, at, CROWD_S)
        elif scenario == "quarrel":
            count = rng.randint(10, 30)
            self._event(device, at, "sharp-eyes.crowd", 0.85, count=count, noise_db=88.0)
        elif scenario == "fight":
            self._event(device, at, "sharp-eyes.fight", rng.uniform(0.75, 0.95))
        elif scenario == "near_water":
            zone = device.zone or "riverbank"
            self._event(device, at, "sharp-eyes.intrusion", 0.86, zone=zone, objects=["person"])
        elif scenario == "fall":
            self._event(device, at, "sharp-eyes.fall", rng.uniform(0.7, 0.9))
        else:
            # The last will a broker would publish, then silence until it is back.
            self._send(at, device.topic("status"), b"offline")
            self._spell("silent", device, at, rng.uniform(*OFFLINE_S))


def counts_by_kind(fleet: list[Device]) -> dict[DeviceKind, int]:
    """How many devices of each kind the fleet has."""
    counts: dict[DeviceKind, int] = {"camera": 0, "fire_camera": 0, "air_station": 0}
    for device in fleet:
        counts[device.kind] += 1
    return counts
