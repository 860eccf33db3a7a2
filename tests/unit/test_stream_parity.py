"""The faust agents (in faust's test context) and the embedded runner give the same incidents."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from gridwatch.devices import AdjustmentRevoked, DeviceAdjusted, DeviceStatus, Tick
from gridwatch.incidents import IncidentCleared, IncidentDetected, IncidentEnded
from gridwatch.records import ReportFiled
from gridwatch.settings import Settings
from gridwatch.wire import (
    ADJUSTMENT_RECORD,
    CELL_RECORD,
    FUSION_RECORD,
    INCIDENT_RECORD,
    CellRecord,
    IncidentRecord,
)
from streams.app import Output, build_agents, new_app
from streams.cells import record_time
from streams.runner import Pipeline
from tests.detectors import FIXTURES, GRID, recorded, routed
from tests.support import T0, later

# Every agent dead-letters the sentinel under its key: that output marks the end of a batch.
SENTINEL = b"not a record"
END_KEY = b"end-of-batch"


def recorded_stream() -> list[CellRecord]:
    """Fire and smoke in two cells, redeliveries, and a person closing the first incident."""
    records: list[CellRecord] = [
        routed("blue-sky.fire", device="cam-1", event_id="f1", at=later(0)),
        routed("blue-sky.fire", device="cam-1", event_id="f1", at=later(0)),
        routed("blue-sky.fire", device="cam-2", event_id="f2", at=later(20), lon=114.37),
        *(
            routed("blue-sky.smoke", device="cam-3", event_id=f"s{i}", at=later(30 + i * 20))
            for i in range(4)
        ),
        routed("sharp-eyes.motion", device="cam-4", event_id="m1", at=later(40)),
    ]
    records.append(
        IncidentEnded(
            incident_id=Pipeline(Settings().detect, GRID).feed(records[0])[0].incident_id,
            cell_id="west",
            category="fire",
            outcome="cancelled",
            false_alarm=True,
            reason="a farmer burning leaves under supervision",
            devices=["cam-1"],
            ended_at=later(200),
        )
    )
    records.append(routed("blue-sky.fire", device="cam-1", event_id="f3", at=later(300)))
    return records


# What the streams process reads: cell records, and on the findings topic statuses and ticks.
Timed = CellRecord | DeviceStatus | Tick


def seconds(item: Timed) -> float:
    """When it happened, in seconds after T0."""
    if isinstance(item, Tick):
        at = item.now
    elif isinstance(item, DeviceStatus):
        at = item.received_at
    elif isinstance(item, IncidentEnded):
        at = item.ended_at
    elif isinstance(item, AdjustmentRevoked):
        at = item.at
    else:
        at = record_time(item)
    return (at - T0).total_seconds()


def timeline() -> list[Timed]:
    """The recorded stream with a clock ticking every 30 s for 40 minutes: the sharp-eyes
    camera goes silent, comes back, says offline and online; the blue-sky ones go silent."""
    back = routed("sharp-eyes.motion", device="cam-4", event_id="m2", at=later(1200))
    items: list[Timed] = [
        *recorded_stream(),
        back.model_copy(update={"received_at": later(1200)}),
        DeviceStatus(
            device_id="cam-4", source_kind="sharp-eyes", status="offline", received_at=later(1300)
        ),
        DeviceStatus(
            device_id="cam-4", source_kind="sharp-eyes", status="online", received_at=later(1500)
        ),
        *(Tick(now=later(t)) for t in range(0, 2401, 30)),
    ]
    # Stable: at equal times, records come before the tick.
    return sorted(items, key=seconds)


async def drain(agent: Any, inputs: list[tuple[bytes, bytes]]) -> list[Output]:
    """Put every input through a test-context agent; return what it yielded, in order."""
    start = agent.processed_offset
    for key, value in [*inputs, (END_KEY, SENTINEL)]:
        await agent.put(value=value, key=key, wait=False)

    def ended() -> bool:
        last = agent.processed_offset - 1
        return last >= start and bool(agent.results[last][1] == END_KEY)

    # Checked under the condition's lock, so a value processed meanwhile is never missed.
    async with agent.new_value_processed:
        await asyncio.wait_for(agent.new_value_processed.wait_for(ended), timeout=10)
    return [agent.results[i] for i in range(start, agent.processed_offset - 1)]


def encoded(record: Any, key: str) -> tuple[bytes, bytes]:
    return key.encode(), record.model_dump_json(by_alias=True).encode()


async def through_faust(items: list[Timed]) -> tuple[list[IncidentRecord], list[DeviceAdjusted]]:
    settings = Settings()
    app = new_app(settings)
    agents = build_agents(app, settings, grid=GRID)
    findings: list[tuple[bytes, bytes]] = []
    adjusted: list[DeviceAdjusted] = []
    async with agents.detect.test_context() as detect:
        batch: list[tuple[bytes, bytes]] = []
        for item in [*items, None]:
            if item is not None and not isinstance(item, DeviceStatus | Tick):
                batch.append(encoded(item, item.cell_id))
                continue
            # Cell records up to here reach the findings topic before this status or tick.
            outputs = await drain(detect, batch) if batch else []
            to_store = settings.kafka.topic("adjustments")
            assert {t for t, _k, _v in outputs} <= {settings.kafka.topic("findings"), to_store}
            adjusted += [
                ADJUSTMENT_RECORD.validate_json(v) for t, _k, v in outputs if t == to_store
            ]
            findings += [(key, value) for topic, key, value in outputs if topic != to_store]
            batch = []
            if item is not None:
                findings.append(encoded(item, GRID.county))
    async with agents.fuse.test_context() as fuse:
        incidents = await drain(fuse, findings)
    return [INCIDENT_RECORD.validate_json(v) for _t, _k, v in incidents], adjusted


def embedded(items: list[Timed]) -> tuple[list[IncidentRecord], list[DeviceAdjusted]]:
    pipeline = Pipeline(Settings().detect, GRID)
    out: list[IncidentRecord] = []
    for item in items:
        out += pipeline.tick(item.now) if isinstance(item, Tick) else pipeline.feed(item)
    return out, pipeline.adjusted


def test_faust_agents_and_embedded_runner_agree() -> None:
    items = timeline()
    expected, adjusted = embedded(items)
    detected = [r for r in expected if isinstance(r, IncidentDetected)]
    # The smoke in the fire's cell joins the fire: one blaze, one incident.
    assert {r.category for r in detected} == {"fire", "no_signal"}
    silent = {r.incident_id for r in detected if r.category == "no_signal"}
    cleared = [r.incident_id for r in expected if isinstance(r, IncidentCleared)]
    # cam-4 twice (silent, then offline), each cleared once back; the blue-sky cameras of
    # each cell, still silent at the end.
    assert (len(silent), len(cleared)) == (4, 2)
    assert set(cleared) < silent
    assert [a.device_id for a in adjusted] == ["cam-1"]
    assert asyncio.run(through_faust(items)) == (expected, adjusted)


def test_recorded_scenarios_of_every_type_agree() -> None:
    items: list[Timed] = [
        record
        for type_, name in RECORDED
        for record in (reports() if type_ == "report" else recorded(type_, name))
    ]
    expected, _ = embedded(items)
    categories = {r.category for r in expected if isinstance(r, IncidentDetected)}
    assert categories >= {
        "fire",
        "air_pollution",
        "crowd",
        "gathering",
        "fall",
        "fight",
        "intrusion",
        "quarrel",
    }
    assert any(isinstance(r, IncidentCleared) for r in expected)
    assert asyncio.run(through_faust(items))[0] == expected


RECORDED = [
    ("blue-sky.smoke", "straw-smoke-two-masts"),
    ("blue-sky.fire", "straw-fire-flames"),
    ("sharp-eyes.motion", "night-lane"),
    ("blue-sky.air", "straw-burning-episode"),
    ("sharp-eyes.crowd", "market-day-overflow"),
    ("sharp-eyes.crowd", "noisy-quarrel"),
    ("sharp-eyes.fall", "elderly-fall"),
    ("sharp-eyes.fight", "market-scuffle"),
    ("sharp-eyes.intrusion", "child-at-riverbank"),
    ("report", "straw-burning-and-quarrel"),
]


def reports() -> list[ReportFiled]:
    """The recorded reports filed by people."""
    path = FIXTURES / "report" / "straw-burning-and-quarrel.json"
    return [ReportFiled.model_validate(doc) for doc in json.loads(path.read_text("utf-8"))]


def test_records_survive_the_wire() -> None:
    for item in timeline():
        if isinstance(item, DeviceStatus | Tick):
            assert FUSION_RECORD.validate_json(item.model_dump_json(by_alias=True)) == item
        else:
            assert CELL_RECORD.validate_json(item.model_dump_json(by_alias=True)) == item
