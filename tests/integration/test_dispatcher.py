"""`gridwatch dispatch` against PostgreSQL and Kafka: dispatch, escalation, reminders, races."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import pytest

from alerts.commands import Accept, Actor
from alerts.flows import apply_command
from gridwatch.accounts import User
from gridwatch.grid.model import Grid
from gridwatch.incidents import Severity
from gridwatch.kafka_admin import ensure_topics
from gridwatch.notifications import Notification
from gridwatch.settings import Settings
from gridwatch.store.incidents import record_detections
from ingest.kafka_sink import KafkaSink
from tests.conftest import Proc, read_topic, wait_until
from tests.integration.staff import staff_on_duty
from tests.integration.test_api_cases import detection

pytestmark = pytest.mark.integration
CELL = 7


def own_topics(settings: Settings, prefix: str) -> Settings:
    """The run's settings with topics of their own, named `prefix` and a random suffix."""
    kafka = settings.kafka.model_copy(update={"topic_prefix": f"{prefix}{uuid.uuid4().hex[:8]}"})
    ensure_topics(kafka)
    return settings.model_copy(update={"kafka": kafka})


@pytest.fixture(scope="module")
def ours(settings: Settings) -> Settings:
    """The run's settings with topics of this module's own, so no other test's incidents."""
    return own_topics(settings, "gwd")


@pytest.fixture(scope="module")
def staff(settings: Settings, grid: Grid) -> dict[str, User]:
    """The cell's worker (the sample roster's id) and a village supervisor, on duty all day."""
    return staff_on_duty(settings, grid, grid.cells[CELL])


@pytest.fixture(scope="module")
def dispatchers(
    procs: Callable[..., Proc], ours: Settings, staff: dict[str, User]
) -> Iterator[list[Proc]]:
    """Two `gridwatch dispatch` processes on the same database, stopped with the module."""
    env = {
        "GRIDWATCH_KAFKA__TOPIC_PREFIX": ours.kafka.topic_prefix,
        # Every test here sends incidents to the same worker: no load cap may pass them over.
        "GRIDWATCH_ASSIGNMENT__MAX_LOAD": "100000",
    }
    started = [procs("dispatch", env), procs("dispatch", env)]
    yield started
    for proc in started:
        proc.stop()


@dataclass(frozen=True)
class Scene:
    """The module's topics, grid, producer, staff and running dispatchers."""

    ours: Settings
    grid: Grid
    sink: KafkaSink
    staff: dict[str, User]
    dispatchers: list[Proc]


@pytest.fixture
def scene(
    ours: Settings, grid: Grid, sink: KafkaSink, staff: dict[str, User], dispatchers: list[Proc]
) -> Scene:
    """Everything a test here needs, with both dispatchers running."""
    return Scene(ours, grid, sink, staff, dispatchers)


def detected(scene: Scene, count: int = 1) -> list[str]:
    """New critical fires in the cell, stored as the queue writer stores them, then produced."""
    ours, sink = scene.ours, scene.sink
    found = [detection(scene.grid, CELL, Severity.CRITICAL) for _ in range(count)]
    with psycopg.connect(ours.postgres.conninfo()) as conn:
        record_detections(conn, found)
    for item in found:
        value = item.model_dump_json(by_alias=True).encode()
        sink.send(ours.kafka.topic("incidents"), item.cell_id.encode(), value, lambda _e: None)
    sink.flush(timeout_s=30)
    return [item.incident_id for item in found]


def query(settings: Settings, sql: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        return conn.execute(sql.encode(), params).fetchall()


def state(settings: Settings, incident: str) -> tuple[object, ...]:
    return query(settings, "SELECT status, level FROM incidents WHERE incident_id = %s", incident)[
        0
    ]


def steps(settings: Settings, incident: str, action: str) -> int:
    rows = query(
        settings,
        "SELECT count(*) FROM incident_steps WHERE incident_id = %s AND action = %s",
        incident,
        action,
    )
    return int(str(rows[0][0]))


def notices(
    settings: Settings, incident: str, kind: str, count: int, timeout: float
) -> list[Notification]:
    records = read_topic(
        settings,
        "notifications",
        lambda r: incident.encode() in r.value and f'"kind":"{kind}"'.encode() in r.value,
        count=count,
        timeout=timeout,
    )
    return [Notification.model_validate_json(r.value) for r in records]


def dispatched(settings: Settings, incidents: list[str]) -> None:
    wait_until(
        lambda: all(state(settings, i)[0] == "dispatched" for i in incidents),
        timeout=60,
        what=f"dispatch of {len(incidents)} incidents",
    )


def overdue(settings: Settings, incidents: list[str]) -> None:
    """Move the open clocks' deadlines into the past: the test's clock, not a sleep."""
    query(
        settings,
        "UPDATE incident_deadlines SET due_at = now() - interval '1 second'"
        " WHERE incident_id = ANY(%s) AND done_at IS NULL RETURNING id",
        incidents,
    )


def settled(settings: Settings) -> None:
    """Wait for every transaction open on the database now to end, committed or not."""
    [(mark,)] = query(settings, "SELECT statement_timestamp()")
    wait_until(
        lambda: query(
            settings,
            "SELECT count(*) = 0 FROM pg_stat_activity"
            " WHERE datname = current_database() AND backend_type = 'client backend'"
            " AND xact_start < %s",
            mark,
        )[0][0],
        timeout=60,
        what="the transactions in flight to end",
    )


def escalated_once(settings: Settings, incidents: list[str]) -> None:
    """Each incident escalated to the village once, and nothing left to escalate it again."""
    wait_until(
        lambda: all(state(settings, i) == ("escalated", "village") for i in incidents),
        timeout=60,
        what="escalation to the village",
    )
    # A tick that claimed before the escalations committed has ended too: what it did shows.
    settled(settings)
    assert [steps(settings, i, "escalate") for i in incidents] == [1] * len(incidents)
    # Every later claim sees the overdue clocks closed: the only open clock of each incident
    # is the village's, started by its escalation and not due for minutes.
    open_clocks = query(
        settings,
        "SELECT incident_id, level, due_at > now() FROM incident_deadlines"
        " WHERE incident_id = ANY(%s) AND done_at IS NULL",
        incidents,
    )
    assert sorted(open_clocks) == sorted((i, "village", True) for i in incidents)


def test_a_detected_incident_goes_to_its_cells_worker(scene: Scene) -> None:
    ours, staff = scene.ours, scene.staff
    [incident] = detected(scene)
    dispatched(ours, [incident])
    worker = staff["worker"].id
    assignees = query(
        ours, "SELECT assignee_id FROM incident_assignees WHERE incident_id = %s", incident
    )
    assert assignees == [(worker,)]
    clocks = query(
        ours,
        "SELECT clock, done_at IS NULL FROM incident_deadlines WHERE incident_id = %s ORDER BY id",
        incident,
    )
    # The clock from detection, closed by the dispatch in the same transaction, then its own.
    assert clocks == [("accept", False), ("accept", True)]
    [note] = notices(ours, incident, "assigned", 1, 60)
    assert (note.recipient, note.kind) == (worker, "assigned")
    assert steps(ours, incident, "dispatch") == 1


def test_an_unaccepted_incident_escalates_once_with_two_dispatchers(scene: Scene) -> None:
    ours, staff = scene.ours, scene.staff
    incidents = detected(scene, count=8)
    dispatched(ours, incidents)
    overdue(ours, incidents)
    escalated_once(ours, incidents)
    boss = staff["supervisor"].id
    for incident in incidents:
        [note] = notices(ours, incident, "escalated", 1, 60)
        assert note.recipient == boss
    assert all(p.alive() for p in scene.dispatchers)


def test_an_accept_stops_the_reminders(scene: Scene) -> None:
    ours, staff = scene.ours, scene.staff
    [incident] = detected(scene)
    dispatched(ours, [incident])
    # Ten minutes into a twenty-minute window: a reminder is owed, the deadline is not near.
    query(
        ours,
        "UPDATE incident_deadlines SET started_at = now() - interval '10 minutes',"
        " due_at = now() + interval '10 minutes' WHERE incident_id = %s AND done_at IS NULL"
        " RETURNING id",
        incident,
    )
    [reminder] = notices(ours, incident, "reminder", 1, 60)
    assert reminder.recipient == staff["worker"].id

    async def accept() -> None:
        actor = Actor(id=staff["worker"].id, role="worker")
        async with await psycopg.AsyncConnection.connect(ours.postgres.conninfo()) as conn:
            await apply_command(
                conn,
                incident,
                Accept(actor=actor),
                at=datetime.now(UTC),
                sla_cfg=ours.sla,
                guard=lambda _locked: None,
            )

    asyncio.run(accept())
    assert query(
        ours,
        "SELECT clock FROM incident_deadlines WHERE incident_id = %s AND done_at IS NULL",
        incident,
    ) == [("arrive",)]
    assert len(notices(ours, incident, "reminder", 2, 8)) == 1


def test_a_killed_dispatcher_restarts_without_lost_or_repeated_escalations(scene: Scene) -> None:
    ours = scene.ours
    incidents = detected(scene, count=8)
    dispatched(ours, incidents)
    overdue(ours, incidents)
    for proc in scene.dispatchers:
        proc.kill()
    assert all(steps(ours, i, "escalate") <= 1 for i in incidents)
    for proc in scene.dispatchers:
        proc.start()
    escalated_once(ours, incidents)
