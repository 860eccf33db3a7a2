"""The faust agents (in faust's test context) and the embedded runner give the same incidents."""

from __future__ import annotations

import asyncio
from typing import Any

from gridwatch.incidents import IncidentEnded
from gridwatch.settings import Settings
from gridwatch.wire import CELL_RECORD, INCIDENT_RECORD, CellRecord, IncidentRecord
from streams.app import Output, build_agents, new_app
from streams.runner import Pipeline
from tests.detectors import GRID, routed
from tests.support import later

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


async def drain(agent: Any, inputs: list[tuple[bytes, bytes]]) -> list[Output]:
    """Put every input through a test-context agent; return what it yielded, in order."""
    start = agent.processed_offset
    for key, value in [*inputs, (END_KEY, SENTINEL)]:
        await agent.put(value=value, key=key, wait=False)
    while True:
        outputs = [agent.results[i] for i in range(start, agent.processed_offset)]
        if outputs and outputs[-1][1] == END_KEY:
            return outputs[:-1]
        async with agent.new_value_processed:
            await asyncio.wait_for(agent.new_value_processed.wait(), timeout=10)


async def through_faust(records: list[CellRecord]) -> list[IncidentRecord]:
    settings = Settings()
    app = new_app(settings)
    agents = build_agents(app, settings, grid=GRID)
    inputs = [(r.cell_id.encode(), r.model_dump_json(by_alias=True).encode()) for r in records]
    async with agents.detect.test_context() as detect:
        findings = await drain(detect, inputs)
    async with agents.fuse.test_context() as fuse:
        incidents = await drain(fuse, [(key, value) for _topic, key, value in findings])
    assert {topic for topic, _k, _v in findings} == {settings.kafka.topic("findings")}
    return [INCIDENT_RECORD.validate_json(value) for _topic, _key, value in incidents]


def test_faust_agents_and_embedded_runner_agree() -> None:
    records = recorded_stream()
    pipeline = Pipeline(Settings().detect, GRID)
    embedded = [out for r in records for out in pipeline.feed(r)]
    assert len(embedded) >= 4
    assert asyncio.run(through_faust(records)) == embedded


def test_records_survive_the_wire() -> None:
    for record in recorded_stream():
        assert CELL_RECORD.validate_json(record.model_dump_json(by_alias=True)) == record
