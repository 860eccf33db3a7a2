"""The embedded mode's detectors over the embedded log: incidents out, state kept across runs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gridwatch.local_log.log import LocalLog
from gridwatch.local_log.sink import LocalSink
from gridwatch.local_log.source import local_sources
from gridwatch.settings import Settings
from ingest.routing import Router
from streams.embedded import EmbeddedStreams
from tests.support import event, later, payload, small_grid

GRID = small_grid()
SETTINGS = Settings()
TOPIC = "gridwatch/v1/blue-sky/cam-5/events"


@pytest.fixture
def log(tmp_path: Path) -> Iterator[LocalLog]:
    opened = LocalLog(tmp_path / "log", partitions=2)
    yield opened
    opened.close()


def publish(log: LocalLog, doc: dict[str, Any]) -> None:
    """What the embedded broker appends for a device's message."""
    record = Router(SETTINGS.kafka, GRID, rejected_by="test").route(
        TOPIC, payload(doc), received_at=later(0)
    )
    LocalSink(log).send(record.topic, record.key, record.value, lambda _e: None)
    log.flush(10)


def incidents(log: LocalLog) -> list[dict[str, Any]]:
    topic = SETTINGS.kafka.topic("incidents")
    return [json.loads(r.value) for n in range(2) for r in log.read(topic, n, 0, 1000)]


class Running:
    """The runner on a thread of its own until `stop()`."""

    def __init__(self, log: LocalLog, state: Path) -> None:
        self.streams = EmbeddedStreams(
            SETTINGS, GRID, sources=local_sources(log), sink=LocalSink(log), state_file=state
        )
        self.thread = threading.Thread(target=self.streams.run)
        self.thread.start()

    def stop(self) -> None:
        self.streams.stop()
        self.thread.join(30)


def wait_for(check: Any) -> Any:
    """What `check` finds, within ten seconds."""
    for _ in range(200):
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("nothing came")


def sighting(n: int) -> dict[str, Any]:
    return event("blue-sky.smoke", device="cam-5", event_id=f"cam-5-{n}", at=later(40 * n))


def test_a_fire_event_on_the_log_becomes_an_incident_on_the_log(
    log: LocalLog, tmp_path: Path
) -> None:
    running = Running(log, tmp_path / "streams.json")
    try:
        publish(log, event(device="cam-5", event_id="cam-5-fire"))
        [found] = wait_for(lambda: incidents(log))
    finally:
        running.stop()
    assert (found["cell_id"], found["category"], found["evidence"]["event_id"]) == (
        "west",
        "fire",
        "cam-5-fire",
    )


def test_half_confirmed_smoke_is_remembered_across_a_restart(log: LocalLog, tmp_path: Path) -> None:
    state = tmp_path / "streams.json"
    first = Running(log, state)
    try:
        publish(log, sighting(0))
        publish(log, sighting(1))
        wait_for(lambda: state.exists() and "cam-5" in state.read_text("utf-8"))
    finally:
        first.stop()
    assert incidents(log) == []  # two sightings of one camera do not confirm smoke
    second = Running(log, state)
    try:
        publish(log, sighting(2))
        found = wait_for(lambda: incidents(log))
    finally:
        second.stop()
    # One incident, its evidence the three sightings: the first two came from the kept state.
    assert {(f["incident_id"], f["category"]) for f in found} == {
        (found[0]["incident_id"], "smoke")
    }
    assert {f["evidence"]["event_id"] for f in found} == {"cam-5-0", "cam-5-1", "cam-5-2"}


def test_a_record_that_is_none_of_ours_is_dead_lettered(log: LocalLog, tmp_path: Path) -> None:
    running = Running(log, tmp_path / "streams.json")
    try:
        LocalSink(log).send(SETTINGS.kafka.topic("events"), b"west", b"{}", lambda _e: None)
        topic = SETTINGS.kafka.topic("deadletter")
        [letter] = wait_for(
            lambda: [json.loads(r.value) for n in range(2) for r in log.read(topic, n, 0, 10)]
        )
    finally:
        running.stop()
    assert (letter["rejected_by"], letter["topic"]) == ("streams", SETTINGS.kafka.topic("events"))
