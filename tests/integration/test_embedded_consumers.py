"""The queue writer and the dispatcher reading the embedded log instead of Kafka."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from alerts.dispatcher import Dispatcher
from alerts.queue import QueueWriter
from gridwatch.accounts import User
from gridwatch.grid.model import Grid
from gridwatch.incidents import Severity
from gridwatch.local_log.log import LocalLog
from gridwatch.local_log.sink import LocalSink
from gridwatch.local_log.source import local_sources
from gridwatch.notifications import Notification
from gridwatch.settings import Settings
from tests.conftest import environ, isolated_env, private_database, wait_until
from tests.integration.staff import staff_on_duty
from tests.integration.test_api_cases import detection

pytestmark = pytest.mark.integration
CELL = 11


@pytest.fixture
def log(tmp_path: Path) -> Iterator[LocalLog]:
    opened = LocalLog(tmp_path / "log", partitions=3)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def own(run_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A database of this module's own: a dispatcher relays and ticks everything in its store."""
    env = run_env | isolated_env(tmp_path_factory.mktemp("consumers"))
    with private_database(env), environ(env):
        yield Settings()


@pytest.fixture(scope="module")
def staff(own: Settings, grid: Grid) -> dict[str, User]:
    return staff_on_duty(own, grid, grid.cells[CELL])


def notifications(settings: Settings, log: LocalLog) -> list[Notification]:
    topic = settings.kafka.topic("notifications")
    return [
        Notification.model_validate_json(r.value)
        for n in range(log.partitions)
        for r in log.read(topic, n, 0, 10_000)
    ]


def test_a_detection_on_the_embedded_log_is_stored_and_dispatched(
    own: Settings, grid: Grid, log: LocalLog, staff: dict[str, User]
) -> None:
    settings = own
    sink, sources = LocalSink(log), local_sources(log)
    found = detection(grid, CELL, Severity.CRITICAL)
    value = found.model_dump_json(by_alias=True).encode()
    sink.send(settings.kafka.topic("incidents"), found.cell_id.encode(), value, lambda _e: None)
    sink.flush(10)

    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        writer = QueueWriter(settings, conn=conn, sink=sink, sources=sources)
        writing = threading.Thread(target=writer.run)
        writing.start()

        async def dispatch() -> None:
            conninfo = settings.postgres.conninfo()
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as aconn:
                dispatcher = Dispatcher(settings, conn=aconn, sink=sink, grid=grid, sources=sources)
                running = asyncio.create_task(dispatcher.run())
                await asyncio.to_thread(
                    wait_until,
                    lambda: notifications(settings, log),
                    timeout=60,
                    what="the assignment on the embedded log",
                )
                dispatcher.stop()
                await running

        try:
            asyncio.run(dispatch())
        finally:
            writer.stop()
            writing.join(30)
        row = conn.execute(
            "SELECT status FROM incidents WHERE incident_id = %s", (found.incident_id,)
        ).fetchone()
    [note] = notifications(settings, log)
    assert (note.kind, note.incident_id, note.recipient) == (
        "assigned",
        found.incident_id,
        staff["worker"].id,
    )
    assert row == ("dispatched",)
