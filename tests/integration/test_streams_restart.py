"""Detector state survives SIGKILL of the stream worker: nothing lost, nothing doubled."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from gridwatch.grid.model import Cell, Grid
from gridwatch.kafka_admin import ensure_topics
from gridwatch.records import RoutedEvent
from gridwatch.settings import Settings
from gridwatch.store.migrate import migrate
from ingest.kafka_sink import KafkaSink
from ingest.validate import route_message
from tests.conftest import Proc, wait_until
from tests.far_cells import FarCells
from tests.support import event, payload

pytestmark = pytest.mark.integration
TIMEOUT = 120.0


@pytest.fixture(scope="module")
def workers(settings: Settings, procs: Callable[[str], Proc]) -> Iterator[dict[str, Proc]]:
    """A stream worker and the incident-queue writer, without bridge or API."""
    ensure_topics(settings.kafka)
    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        migrate(conn)
    yield {name: procs(name) for name in ("alerts", "streams")}


class Producer:
    """Writes routed events straight to the events topic, as the bridge would."""

    def __init__(self, settings: Settings, grid: Grid) -> None:
        self._settings = settings
        self._grid = grid
        self._sink = KafkaSink(settings.kafka, client_id=f"test-{uuid.uuid4().hex[:6]}")
        self.failures: list[BaseException] = []

    def send(self, type_: str, device: str, event_id: str, at: datetime, cell: Cell) -> None:
        lon, lat = cell.centroid
        source = type_.split(".")[0]
        routed = route_message(
            f"gridwatch/v1/{source}/{device}/events",
            payload(event(type_, device=device, event_id=event_id, at=at, lon=lon, lat=lat)),
            grid=self._grid,
            received_at=datetime.now(UTC),
        )
        assert isinstance(routed, RoutedEvent), routed
        self._sink.send(
            self._settings.kafka.topic("events"),
            routed.cell_id.encode(),
            routed.model_dump_json(by_alias=True).encode(),
            lambda exc: self.failures.append(exc) if exc else None,
        )

    def flush(self) -> None:
        self._sink.flush(timeout_s=30)
        assert not self.failures

    def close(self) -> None:
        self._sink.close()


def incidents(settings: Settings, prefix: str) -> dict[str, tuple[str, int]]:
    """Incidents with evidence from devices named `prefix*`: id → (category, that evidence).

    Only this test's evidence is counted: other tests' fires nearby may share an incident.
    """
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT i.incident_id, i.category, count(*) FROM incidents i"
            " JOIN incident_evidence e ON e.incident_id = i.incident_id"
            " WHERE e.device_id LIKE %s GROUP BY i.incident_id, i.category",
            (prefix + "%",),
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_smoke_half_confirmed_before_a_kill_is_confirmed_after_it(
    settings: Settings, grid: Grid, far_cells: FarCells, workers: dict[str, Proc]
) -> None:
    tag = f"sm{uuid.uuid4().hex[:6]}"
    producer = Producer(settings, grid)
    at = datetime.now(UTC).replace(microsecond=0)
    cell = far_cells.one()
    # Two of the three sightings persistence needs, then a fall in the same cell: the fall's
    # incident shows that the two sightings (earlier on the same partition) were processed.
    producer.send("blue-sky.smoke", f"{tag}-cam", "s0", at, cell)
    producer.send("blue-sky.smoke", f"{tag}-cam", "s1", at + timedelta(seconds=30), cell)
    producer.send("sharp-eyes.fall", f"{tag}-fall", "f0", at + timedelta(seconds=40), cell)
    producer.flush()
    wait_until(lambda: incidents(settings, tag), timeout=TIMEOUT, what="the fall incident")

    workers["streams"].kill()
    workers["streams"].start()
    producer.send("blue-sky.smoke", f"{tag}-cam", "s2", at + timedelta(seconds=60), cell)
    producer.flush()
    producer.close()

    def smoke_confirmed() -> dict[str, tuple[str, int]]:
        found = incidents(settings, tag)
        return found if ("smoke", 3) in found.values() else {}

    found = wait_until(smoke_confirmed, timeout=TIMEOUT, what="smoke confirmed after restart")
    assert sorted(found.values()) == [("fall", 1), ("smoke", 3)]


def test_a_kill_in_the_middle_of_a_burst_loses_and_doubles_nothing(
    settings: Settings, grid: Grid, far_cells: FarCells, workers: dict[str, Proc]
) -> None:
    tag = f"bu{uuid.uuid4().hex[:6]}"
    cells, per_cell = 30, 10
    spread = far_cells.take(cells)
    producer = Producer(settings, grid)
    at = datetime.now(UTC).replace(microsecond=0)

    def burst() -> None:
        for i in range(per_cell):
            for c, cell in enumerate(spread):
                producer.send(
                    "blue-sky.fire", f"{tag}-{c}", f"f{i}", at + timedelta(seconds=i), cell
                )
            producer.flush()
            time.sleep(0.3)

    sender = threading.Thread(target=burst)
    sender.start()
    wait_until(lambda: incidents(settings, tag), timeout=TIMEOUT, what="the first incidents")
    workers["streams"].kill()
    workers["streams"].start()
    sender.join(timeout=TIMEOUT)
    producer.close()

    def complete() -> dict[str, tuple[str, int]]:
        found = incidents(settings, tag)
        return found if sum(n for _c, n in found.values()) >= cells * per_cell else {}

    found = wait_until(complete, timeout=TIMEOUT, what="every fire as evidence after restart")
    assert len(found) == cells
    assert {n for _c, n in found.values()} == {per_cell}
