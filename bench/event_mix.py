"""A county's event stream for the detector bench: a few hundred devices, realistic times."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from gridwatch.grid.model import Cell, Grid
from gridwatch.records import RoutedEvent
from ingest.validate import route_message
from tests.support import T0, event, payload

SEED = 20261128
# Events per second of event time over the whole county: with the shares below, each air
# station reports every 100 s and a busy camera every minute or so.
COUNTY_RATE = 2.0
# Seconds from a device's event time to the bridge's receipt.
RECEIPT_DELAY = timedelta(seconds=0.3)
# Devices are spread over about this many cells, two or so in each.
CELLS = 150


@dataclass(frozen=True)
class Kind:
    """One event type of the mix: its share of the events and the devices that send it."""

    type: str
    share: float
    pool: str


# Most events are motion and air readings; fire and people in trouble are rare.
KINDS: tuple[Kind, ...] = (
    Kind("sharp-eyes.motion", 0.50, "se-cam"),
    Kind("blue-sky.air", 0.25, "bs-aq"),
    Kind("sharp-eyes.crowd", 0.181, "se-count"),
    Kind("blue-sky.smoke", 0.05, "bs-cam"),
    Kind("blue-sky.fire", 0.005, "bs-cam"),
    Kind("sharp-eyes.intrusion", 0.006, "se-cam"),
    Kind("sharp-eyes.fall", 0.004, "se-cam"),
    Kind("sharp-eyes.fight", 0.004, "se-cam"),
)
POOLS: dict[str, int] = {"se-cam": 180, "bs-aq": 50, "se-count": 40, "bs-cam": 30}
# The first few air stations see a straw-burning episode in the middle half of the stream
# (long enough to raise), and the first few counting cameras a market day in its first half.
POLLUTED_STATIONS = 5
MARKET_CAMERAS = 3
ZONES = ("riverbank", "reservoir", "footpath", "field")


def route(
    type_: str, device: str, event_id: str, at: datetime, cell: Cell, grid: Grid, **data: Any
) -> RoutedEvent:
    """A device event at the cell's centroid, routed as the bridge would."""
    lon, lat = cell.centroid
    doc = event(type_, device=device, event_id=event_id, at=at, lon=lon, lat=lat, **data)
    topic = f"gridwatch/v1/{type_.split('.')[0]}/{device}/events"
    routed = route_message(topic, payload(doc), grid=grid, received_at=at + RECEIPT_DELAY)
    if not isinstance(routed, RoutedEvent):
        raise ValueError(f"the bench built an event the bridge refuses: {routed}")
    return routed


class Mix:
    """Draws the events of the mix, in event-time order, from a seeded generator."""

    def __init__(self, grid: Grid, n: int) -> None:
        self.grid = grid
        self.n = n
        self.rng = random.Random(SEED)
        stride = max(1, len(grid.cells) // CELLS)
        self.cells: Sequence[Cell] = grid.cells[::stride]
        # Each pool's first device index over all pools, so the pools' devices share cells.
        self.home = dict(zip(POOLS, accumulate([0, *POOLS.values()]), strict=False))
        self.sent: dict[str, int] = {}
        self.polled = {pool: 0 for pool in POOLS}

    def device(self, kind: Kind) -> tuple[int, str, Cell]:
        """A device of the kind's pool: air stations in turn, others busiest first (Zipf)."""
        size = POOLS[kind.pool]
        if kind.pool == "bs-aq":
            index = self.polled[kind.pool] % size
            self.polled[kind.pool] += 1
        else:
            index = self.rng.choices(range(size), weights=[1 / (i + 1) for i in range(size)])[0]
        cell = self.cells[(self.home[kind.pool] + index) % len(self.cells)]
        return index, f"{kind.pool}-{index:03d}", cell

    def data(self, kind: Kind, index: int, progress: float) -> dict[str, Any]:
        """The event's data fields, given how far into the stream it is (0 to 1)."""
        u = self.rng.uniform
        if kind.type == "blue-sky.air":
            smoky = index < POLLUTED_STATIONS and 0.25 <= progress < 0.75
            pm25 = u(160, 240) if smoky else u(20, 70)
            return {
                "confidence": 1.0,
                "pm25": round(pm25),
                "pm10": round(pm25 * u(1.3, 1.7)),
                "so2": round(u(5, 15)),
                "no2": round(u(20, 45)),
                "o3": round(u(40, 90)),
                "co": round(u(0.5, 1.5), 1),
            }
        if kind.type == "sharp-eyes.crowd":
            busy = index < MARKET_CAMERAS and progress < 0.5
            loud = self.rng.random() < 0.03
            return {
                "confidence": round(u(0.6, 0.95), 2),
                "count": round(u(50, 140) if busy else u(0, 45)),
                "noise_db": round(u(80, 95) if loud else u(45, 75), 1),
            }
        if kind.type == "sharp-eyes.intrusion":
            objects = ["person"] if self.rng.random() < 0.6 else ["dog"]
            return {
                "confidence": round(u(0.45, 0.95), 2),
                "zone": self.rng.choice(ZONES),
                "objects": objects,
            }
        low = {"sharp-eyes.motion": 0.3, "blue-sky.smoke": 0.4}.get(kind.type, 0.5)
        return {"confidence": round(u(low, 0.97), 2)}

    def events(self) -> list[RoutedEvent]:
        """The `n` routed events, their event times advancing at COUNTY_RATE on average."""
        out: list[RoutedEvent] = []
        at = T0
        weights = [k.share for k in KINDS]
        for i in range(self.n):
            at += timedelta(seconds=self.rng.expovariate(COUNTY_RATE))
            kind = self.rng.choices(KINDS, weights=weights)[0]
            index, device, cell = self.device(kind)
            seq = self.sent[device] = self.sent.get(device, 0) + 1
            data = self.data(kind, index, i / self.n)
            out.append(route(kind.type, device, f"{device}-{seq:06d}", at, cell, self.grid, **data))
        return out


def build_mix(grid: Grid, n: int) -> list[RoutedEvent]:
    """`n` routed events of the mix for `grid`, the same for the same `n`."""
    return Mix(grid, n).events()
