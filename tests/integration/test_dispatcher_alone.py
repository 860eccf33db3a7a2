"""A dispatcher in this process on a database of its own: its outbox, where it escalates to,
and its clocks ticked at times the test chooses."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from alerts.commands import Accept, Actor, RequestHelp
from alerts.dispatcher import Dispatcher
from alerts.flows import apply_command
from alerts.sla import Deadline, next_reminder
from gridwatch.accounts import User
from gridwatch.grid.model import Grid
from gridwatch.incidents import IncidentDetected, Severity
from gridwatch.notifications import Notification
from gridwatch.outbox_relay import relay_outbox
from gridwatch.people import Level, Person, Role, Roster, RosterDocument
from gridwatch.ports import Done, RecordSink
from gridwatch.settings import Settings
from gridwatch.sla_settings import SlaSettings
from gridwatch.store.incidents import record_detections
from gridwatch.store.migrate import migrate
from gridwatch.store.outbox import OutboxRecord, put_records
from gridwatch.store.people import import_roster
from ingest.kafka_sink import KafkaSink
from tests.conftest import (
    REPO,
    Proc,
    add_user,
    private_database,
    read_topic,
    wait_until,
)
from tests.integration.sinks import RefusingSink
from tests.integration.staff import always_on_duty
from tests.integration.test_api_cases import detection
from tests.integration.test_dispatcher import own_topics, query, state, steps

pytestmark = pytest.mark.integration
CELL = 11
MICROSECOND = timedelta(microseconds=1)
# A day before Europe's clocks go forward (01:00 UTC on 28 March 2027): a day later is 23
# hours later on a wall clock there, and still 24 on the SLA's.
SPRING = datetime(2027, 3, 27, 12, tzinfo=UTC)


class DyingSink(RefusingSink):
    """A `RecordSink` whose first record SIGKILLs its own process: death after the commit."""

    def send(self, topic: str, key: bytes, value: bytes, done: Done) -> None:
        """Die before Kafka could have the record."""
        os.kill(os.getpid(), signal.SIGKILL)


class PickySink(RefusingSink):
    """A `RecordSink` refusing the records of one key and handing the others to Kafka."""

    def __init__(self, kafka: RecordSink, refused: bytes) -> None:
        self._kafka = kafka
        self._refused = refused

    def send(self, topic: str, key: bytes, value: bytes, done: Done) -> None:
        """Refuse the one key; produce the rest."""
        if key == self._refused:
            super().send(topic, key, value, done)
        else:
            self._kafka.send(topic, key, value, done)

    def flush(self, timeout_s: float) -> None:
        """Wait for Kafka."""
        self._kafka.flush(timeout_s)


@pytest.fixture(scope="module")
def topics(settings: Settings) -> Settings:
    """The run's settings with topics of this module's own."""
    return own_topics(settings, "gwo")


@pytest.fixture
def lone(topics: Settings) -> Iterator[Settings]:
    """The module's topics and a fresh database: no other dispatcher, person or clock in it."""
    name = f"gridwatch_o{uuid.uuid4().hex[:8]}"
    with private_database({"GRIDWATCH_POSTGRES__DATABASE": name}):
        postgres = topics.postgres.model_copy(update={"database": name})
        mine = topics.model_copy(update={"postgres": postgres})
        with psycopg.connect(mine.postgres.conninfo(), autocommit=True) as conn:
            migrate(conn)
        yield mine


def lone_env(settings: Settings) -> dict[str, str]:
    """The variables that point a process at `settings`' database and topics."""
    return {
        "GRIDWATCH_POSTGRES__DATABASE": settings.postgres.database,
        "GRIDWATCH_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
    }


def hire(settings: Settings, grid: Grid, level: Level, *, account: bool = True) -> User | None:
    """Someone on duty all day at `level` over CELL (its worker at the grid); their account."""
    cell = grid.cells[CELL]
    nodes = {
        "grid": cell.id,
        "village": cell.village_id,
        "township": cell.township_id,
        "county": grid.county,
    }
    role: Role = "worker" if level == "grid" else "supervisor"
    person = Person(
        id=f"P-{uuid.uuid4().hex[:8]}", name=role, role=role, level=level, node=nodes[level]
    )
    shift = always_on_duty(person.id)
    doc = RosterDocument(county=grid.county, people=(person,), roster=Roster(shifts=(shift,)))

    async def load() -> None:
        async with await psycopg.AsyncConnection.connect(settings.postgres.conninfo()) as conn:
            await import_roster(conn, doc, replace=False)

    asyncio.run(load())
    return add_user(settings, role, nodes[level], person_id=person.id) if account else None


def account(user: User | None) -> str:
    assert user is not None
    return user.id


def stored_detection(settings: Settings, grid: Grid) -> IncidentDetected:
    """A new critical fire in CELL, stored as the queue writer stores it (not produced)."""
    found = detection(grid, CELL, Severity.CRITICAL)
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        record_detections(conn, [found])
    return found


@asynccontextmanager
async def dispatcher(settings: Settings, grid: Grid, sink: RecordSink) -> AsyncIterator[Dispatcher]:
    """A dispatcher on a connection of its own, as `gridwatch dispatch` builds it."""
    conninfo = settings.postgres.conninfo()
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        yield Dispatcher(settings, conn=conn, sink=sink, grid=grid)


def overdue(settings: Settings, incident: str) -> None:
    """The open clock started ten minutes ago and is past due: an escalation and a reminder owed."""
    query(
        settings,
        "UPDATE incident_deadlines SET started_at = now() - interval '10 minutes',"
        " due_at = now() - interval '1 second' WHERE incident_id = %s AND done_at IS NULL"
        " RETURNING id",
        incident,
    )


def outbox(settings: Settings) -> list[Notification]:
    """The notifications waiting in the outbox, oldest first."""
    waiting = []
    for (value,) in query(settings, "SELECT value FROM outbox ORDER BY id"):
        assert isinstance(value, bytes)
        waiting.append(Notification.model_validate_json(value))
    return waiting


def assignees(settings: Settings, incident: str) -> set[str]:
    rows = query(
        settings, "SELECT assignee_id FROM incident_assignees WHERE incident_id = %s", incident
    )
    return {str(a) for (a,) in rows}


def on_topic(settings: Settings, incident: str, at_most: int) -> list[Notification]:
    """The incident's notifications on the topic; waits for one more than expected to show."""
    records = read_topic(
        settings,
        "notifications",
        lambda r: incident.encode() in r.value,
        count=at_most + 1,
        timeout=8,
    )
    return [Notification.model_validate_json(r.value) for r in records]


def now() -> datetime:
    return datetime.now(UTC)


def test_a_produce_failing_after_the_commit_leaves_the_outbox_to_another_dispatcher(
    lone: Settings, grid: Grid, sink: KafkaSink
) -> None:
    worker, boss = account(hire(lone, grid, "grid")), account(hire(lone, grid, "village"))
    found = stored_detection(lone, grid)
    incident = found.incident_id

    async def decide_but_fail_to_produce() -> None:
        async with dispatcher(lone, grid, RefusingSink()) as broken:
            assert await broken.dispatch(found, now())
            overdue(lone, incident)
            assert await broken.tick(now()) == 1
            assert await broken.send_outbox() == 0  # still refused: the rows stay

    asyncio.run(decide_but_fail_to_produce())
    assert state(lone, incident) == ("escalated", "village")
    waiting = outbox(lone)
    assert [(n.kind, n.recipient) for n in waiting] == [("assigned", worker), ("escalated", boss)]

    async def two_dispatchers_drain() -> list[int]:
        async with dispatcher(lone, grid, sink) as one, dispatcher(lone, grid, sink) as two:
            sent = await asyncio.gather(one.send_outbox(), two.send_outbox())
            # The detection again, as after a crash before the offset commit: nothing to say.
            assert await one.dispatch(found, now())
            return list(sent)

    assert sum(asyncio.run(two_dispatchers_drain())) == 2
    assert outbox(lone) == []
    produced = on_topic(lone, incident, at_most=2)
    assert sorted(n.notification_id for n in produced) == sorted(n.notification_id for n in waiting)


def test_the_relay_forgets_what_kafka_acknowledged_and_keeps_what_it_refused(
    lone: Settings, sink: KafkaSink
) -> None:
    marker = uuid.uuid4().hex
    topic = lone.kafka.topic("notifications")
    records = [
        OutboxRecord(topic, key, f'{{"marker": "{marker}", "n": {n}}}'.encode())
        for n, key in enumerate([b"u-a", b"u-b", b"u-a"])
    ]

    async def relay() -> tuple[int, list[tuple[object, ...]], int]:
        conninfo = lone.postgres.conninfo()
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            async with conn.transaction():
                await put_records(conn, records)
            first = await relay_outbox(conn, PickySink(sink, refused=b"u-b"))
            left = query(lone, "SELECT key FROM outbox")
            return first, left, await relay_outbox(conn, sink)

    first, left, second = asyncio.run(relay())
    assert (first, left, second) == (2, [(b"u-b",)], 1)
    assert query(lone, "SELECT count(*) FROM outbox") == [(0,)]
    produced = read_topic(
        lone, "notifications", lambda r: marker.encode() in r.value, count=4, timeout=8
    )
    assert sorted(r.value for r in produced) == sorted(r.value for r in records)


def _tick_and_die() -> None:
    """In a child process: one tick whose first produce, after the commit, SIGKILLs it."""
    settings = Settings()

    async def tick() -> None:
        async with dispatcher(settings, Grid.load(settings.grid.path), DyingSink()) as doomed:
            await doomed.tick(now())

    asyncio.run(tick())


def test_a_dispatcher_killed_between_its_commit_and_kafka_loses_no_escalation(
    lone: Settings, grid: Grid, sink: KafkaSink, procs: Callable[..., Proc]
) -> None:
    account(hire(lone, grid, "grid"))
    boss = account(hire(lone, grid, "village"))
    found = stored_detection(lone, grid)
    incident = found.incident_id

    async def first_dispatch() -> None:
        async with dispatcher(lone, grid, sink) as healthy:
            assert await healthy.dispatch(found, now())

    asyncio.run(first_dispatch())
    overdue(lone, incident)
    code = f"from {__name__} import _tick_and_die; _tick_and_die()"
    child = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **lone_env(lone)}, cwd=REPO, timeout=120
    )
    assert child.returncode == -signal.SIGKILL
    assert state(lone, incident) == ("escalated", "village")  # committed before it died
    assert [n.kind for n in outbox(lone)] == ["escalated"]
    restarted = procs("dispatch", lone_env(lone))
    try:
        wait_until(lambda: not outbox(lone), timeout=60, what="the outbox drained")
        escalations = [n for n in on_topic(lone, incident, at_most=2) if n.kind == "escalated"]
    finally:
        restarted.stop()
    assert [n.recipient for n in escalations] == [boss]
    assert steps(lone, incident, "escalate") == 1


def escalate_once(settings: Settings, grid: Grid, sink: KafkaSink) -> str:
    """A fire in CELL dispatched, made overdue and ticked once; its id."""
    found = stored_detection(settings, grid)

    async def run() -> None:
        async with dispatcher(settings, grid, sink) as one:
            assert await one.dispatch(found, now())
            overdue(settings, found.incident_id)
            assert await one.tick(now()) == 1

    asyncio.run(run())
    return found.incident_id


def test_an_escalation_skips_a_level_with_nobody_to_tell(
    lone: Settings, grid: Grid, sink: KafkaSink
) -> None:
    worker = account(hire(lone, grid, "grid"))
    hire(lone, grid, "village", account=False)  # on the roster, but no account to send to
    chief = account(hire(lone, grid, "township"))
    incident = escalate_once(lone, grid, sink)
    assert state(lone, incident) == ("escalated", "township")
    assert assignees(lone, incident) == {worker, chief}


def test_with_nobody_above_the_operators_get_it_at_the_county(
    lone: Settings, grid: Grid, sink: KafkaSink
) -> None:
    worker = account(hire(lone, grid, "grid"))
    operator = add_user(lone, "operator", grid.county).id
    incident = escalate_once(lone, grid, sink)
    assert state(lone, incident) == ("escalated", "county")
    assert assignees(lone, incident) == {worker, operator}


def test_with_nobody_at_all_it_reminds_and_warns_once_until_someone_comes(
    lone: Settings, grid: Grid, sink: KafkaSink, caplog: pytest.LogCaptureFixture
) -> None:
    worker = account(hire(lone, grid, "grid"))
    caplog.set_level(logging.WARNING, logger="alerts.dispatcher")
    found = stored_detection(lone, grid)
    incident = found.incident_id

    async def run() -> None:
        async with dispatcher(lone, grid, sink) as one:
            assert await one.dispatch(found, now())
            overdue(lone, incident)
            for _ in range(3):
                await one.tick(now())
            assert state(lone, incident) == ("dispatched", "grid")
            # add_user runs its own event loop: in a thread of its own.
            operator = (await asyncio.to_thread(add_user, lone, "operator", grid.county)).id
            await one.tick(now())
            assert state(lone, incident) == ("escalated", "county")
            assert assignees(lone, incident) == {worker, operator}

    asyncio.run(run())
    warned = [r for r in caplog.records if "nobody above" in r.getMessage()]
    assert len(warned) == 1
    reminders = [n for n in on_topic(lone, incident, at_most=3) if n.kind == "reminder"]
    assert [n.recipient for n in reminders] == [worker]


def test_a_clock_left_open_on_an_ended_incident_is_never_acted_on(
    lone: Settings, grid: Grid, sink: KafkaSink
) -> None:
    account(hire(lone, grid, "grid"))
    account(hire(lone, grid, "village"))
    found = stored_detection(lone, grid)
    incident = found.incident_id

    async def run() -> int:
        async with dispatcher(lone, grid, sink) as one:
            assert await one.dispatch(found, now())
            # Closed behind the loop's back, its clock still open (a path that forgot it).
            query(
                lone,
                "UPDATE incidents SET status = 'closed' WHERE incident_id = %s RETURNING 1",
                incident,
            )
            overdue(lone, incident)
            return await one.tick(now())

    assert asyncio.run(run()) == 0  # and no IllegalTransition: the tick goes on
    assert state(lone, incident) == ("closed", "grid")
    assert steps(lone, incident, "escalate") == 0


def running_clock(settings: Settings, incident: str) -> tuple[Deadline, datetime | None]:
    """The incident's open clock as the dispatcher reads it, and when it last reminded."""
    fields = ("incident_id", "cell_id", "clock", "level", "started_at", "due_at")
    [row] = query(
        settings,
        "SELECT d.incident_id, i.cell_id, d.clock, d.level, d.started_at, d.due_at,"
        " d.last_reminded_at FROM incident_deadlines d"
        " JOIN incidents i ON i.incident_id = d.incident_id"
        " WHERE d.incident_id = %s AND d.done_at IS NULL",
        incident,
    )
    reminded = row[-1]
    assert reminded is None or isinstance(reminded, datetime)
    return Deadline.model_validate(dict(zip(fields, row[:-1], strict=True))), reminded


def said(settings: Settings, incident: str, kind: str) -> list[Notification]:
    """The incident's notifications of one kind that ticks left in the outbox, oldest first."""
    return [n for n in outbox(settings) if n.incident_id == incident and n.kind == kind]


def test_a_clock_escalates_at_its_due_time_not_a_second_before_and_once_for_two_dispatchers(
    lone: Settings, grid: Grid
) -> None:
    account(hire(lone, grid, "grid"))
    boss = account(hire(lone, grid, "village"))
    found = stored_detection(lone, grid)
    incident = found.incident_id

    async def run() -> list[int]:
        # Refusing sinks keep every notification in the outbox, where the test reads it.
        async with (
            dispatcher(lone, grid, RefusingSink()) as one,
            dispatcher(lone, grid, RefusingSink()) as two,
        ):
            assert await one.dispatch(found, SPRING)
            due = running_clock(lone, incident)[0].due_at
            assert due == SPRING + timedelta(minutes=5)
            await one.tick(due - timedelta(seconds=1))  # a reminder was owed, no escalation
            assert (state(lone, incident), steps(lone, incident, "escalate")) == (
                ("dispatched", "grid"),
                0,
            )
            ticked = await asyncio.gather(one.tick(due), two.tick(due))
            return [*ticked, await one.tick(due), await two.tick(due)]

    assert sorted(asyncio.run(run())) == [0, 0, 0, 1]
    assert state(lone, incident) == ("escalated", "village")
    assert steps(lone, incident, "escalate") == 1
    assert [n.recipient for n in said(lone, incident, "escalated")] == [boss]


@pytest.mark.parametrize(
    ("cfg", "interval"),
    [
        (SlaSettings(), timedelta(seconds=100)),  # 5 minutes in 3
        (
            # A window over a day, which PostgreSQL divides in days and time, rounding twice.
            SlaSettings.model_validate(
                {"critical": {"accept_min": 1461}, "reminders_per_window": 11}
            ),
            timedelta(microseconds=7_969_090_909),  # 87 660 s / 11, to the microsecond
        ),
        (SlaSettings(reminders_per_window=10), timedelta(minutes=1)),  # not 30 s: the shortest
        (
            SlaSettings.model_validate(
                {"critical": {"accept_min": 600}, "longest_reminder_min": 60}
            ),
            timedelta(hours=1),  # not 200 minutes: the longest
        ),
        (
            SlaSettings.model_validate(
                {
                    "critical": {"accept_min": 2 * 1440},
                    "reminders_per_window": 2,
                    "longest_reminder_min": 2 * 1440,
                }
            ),
            timedelta(days=1),  # across the change to summer time
        ),
    ],
    ids=["split", "rounded", "shortest", "longest", "days"],
)
def test_reminders_come_when_next_reminder_says_and_not_a_microsecond_before(
    lone: Settings,
    grid: Grid,
    cfg: SlaSettings,
    interval: timedelta,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A session in a zone with summer time (PGTZ overrides the UTC our connections ask for):
    # the claim must not count days on its wall clock.
    monkeypatch.setenv("PGTZ", "Europe/Berlin")
    settings = lone.model_copy(update={"sla": cfg})
    worker = account(hire(settings, grid, "grid"))  # nobody above, not even an operator
    found = stored_detection(settings, grid)
    incident = found.incident_id

    async def run() -> tuple[Deadline, list[datetime]]:
        async with dispatcher(settings, grid, RefusingSink()) as one:
            assert await one.dispatch(found, SPRING)
            deadline, last = running_clock(settings, incident)
            sent: list[datetime] = []
            # Twice past the deadline too: with nobody to escalate to, they go on.
            while len([at for at in sent if at >= deadline.due_at]) < 2:
                owed = next_reminder(deadline, last, cfg)
                early = await one.tick(owed - MICROSECOND)
                if owed - MICROSECOND < deadline.due_at:
                    # Before the deadline the claim is for reminders only: it must agree.
                    assert early == 0, f"clock claimed before the reminder owed at {owed}"
                assert len(said(settings, incident, "reminder")) == len(sent)
                assert await one.tick(owed) == 1, f"clock not claimed at {owed}"
                sent.append(owed)
                assert len(said(settings, incident, "reminder")) == len(sent)
                deadline, last = running_clock(settings, incident)
                assert last == owed
            return deadline, sent

    deadline, sent = asyncio.run(run())
    assert sent == [deadline.started_at + k * interval for k in range(1, len(sent) + 1)]
    assert state(settings, incident) == ("dispatched", "grid")
    reminders = said(settings, incident, "reminder")
    assert {n.recipient for n in reminders} == {worker}
    assert len({n.notification_id for n in reminders}) == len(sent)


def test_an_accept_stops_every_pending_reminder_at_once(lone: Settings, grid: Grid) -> None:
    worker = account(hire(lone, grid, "grid"))
    boss = account(hire(lone, grid, "village"))
    found = stored_detection(lone, grid)
    incident = found.incident_id
    cfg = lone.sla

    async def accept(at: datetime) -> None:
        """The worker accepts, through the flow the API applies a step with."""
        conninfo = lone.postgres.conninfo()
        async with await psycopg.AsyncConnection.connect(conninfo) as conn, conn.transaction():
            await apply_command(
                conn,
                incident,
                Accept(actor=Actor(id=worker, role="worker")),
                at=at,
                sla_cfg=cfg,
                guard=lambda _locked: None,
            )

    async def run() -> list[int]:
        async with dispatcher(lone, grid, RefusingSink()) as one:
            assert await one.dispatch(found, SPRING)
            assert await one.tick(running_clock(lone, incident)[0].due_at) == 1  # escalated
            waiting, _ = running_clock(lone, incident)
            first = next_reminder(waiting, None, cfg)
            assert await one.tick(first) == 1
            assert {n.recipient for n in said(lone, incident, "reminder")} == {worker, boss}
            then = next_reminder(waiting, first, cfg)
            await accept(first + (then - first) / 2)
            arrive, _ = running_clock(lone, incident)
            assert arrive.clock == "arrive"
            # When the accept clock would have reminded both, escalated, reminded again.
            later = [then, waiting.due_at, next_reminder(waiting, waiting.due_at, cfg)]
            ticked = [await one.tick(at) for at in later]
            ticked.append(await one.tick(next_reminder(arrive, None, cfg) - MICROSECOND))
            return ticked

    assert asyncio.run(run()) == [0, 0, 0, 0]
    assert len(said(lone, incident, "reminder")) == 2
    assert steps(lone, incident, "escalate") == 1
    assert state(lone, incident) == ("accepted", "village")


def test_a_call_for_help_keeps_the_clock_and_its_reminders_where_they_were(
    lone: Settings, grid: Grid
) -> None:
    worker = account(hire(lone, grid, "grid"))
    found = stored_detection(lone, grid)
    incident = found.incident_id
    cfg = lone.sla

    async def step(command: Accept | RequestHelp, at: datetime) -> None:
        """The worker's step, through the flow the API applies a step with."""
        conninfo = lone.postgres.conninfo()
        async with await psycopg.AsyncConnection.connect(conninfo) as conn, conn.transaction():
            await apply_command(
                conn, incident, command, at=at, sla_cfg=cfg, guard=lambda _locked: None
            )

    async def run() -> int:
        async with dispatcher(lone, grid, RefusingSink()) as one:
            assert await one.dispatch(found, SPRING)
            await step(Accept(actor=Actor(id=worker, role="worker")), SPRING)
            arrive, _ = running_clock(lone, incident)
            first = next_reminder(arrive, None, cfg)
            assert await one.tick(first) == 1
            help_at = first + timedelta(seconds=1)
            await step(RequestHelp(actor=Actor(id=worker, role="worker"), note="two more"), help_at)
            assert running_clock(lone, incident) == (arrive, first)  # the same clock, same stamp
            # Right after the call for help, nothing new is owed: no second reminder at once.
            return await one.tick(help_at + timedelta(seconds=1))

    assert asyncio.run(run()) == 0
    assert len(said(lone, incident, "reminder")) == 1
