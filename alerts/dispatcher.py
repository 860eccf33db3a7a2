"""The dispatcher: sends detected incidents to people, escalates overdue clocks, reminds."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from kafka import OffsetAndMetadata, TopicPartition
from pydantic import ValidationError

from alerts.commands import Actor, Dispatch, Escalate
from alerts.dispatch_people import escalation_candidates, first_assignees
from alerts.escalation import escalation_target
from alerts.flows import apply_command
from alerts.lifecycle import IllegalTransition, IncidentCase
from alerts.sla import Deadline, deadlines, next_reminder
from gridwatch.grid.model import Grid
from gridwatch.incidents import IncidentDetected
from gridwatch.kafka_source import kafka_sources
from gridwatch.notifications import Notification, NotificationKind, notification_id
from gridwatch.outbox_relay import relay_outbox
from gridwatch.people import Level
from gridwatch.ports import Batches, RecordSink, RecordSource, SourceFactory
from gridwatch.recent_keys import RecentKeys
from gridwatch.settings import Settings
from gridwatch.store.cases import StoredCase, read_case
from gridwatch.store.dispatch import (
    claim_clocks,
    finish_clock,
    lock_incident,
    mark_reminded,
    open_clock,
    start_clock,
)
from gridwatch.store.outbox import OutboxRecord, put_records
from gridwatch.wire import INCIDENT_RECORD

log = logging.getLogger(__name__)

TIMER = Actor(id="sla-timer", role="system")
TICK_S = 2.0
CLAIM_LIMIT = 100
# How long a detection whose incident row the queue writer has not stored yet waits to retry.
NOT_STORED_PAUSE_S = 0.5
# Forgetting the oldest stranded incident costs one more warning line; remembering every one
# would grow for as long as a county has nobody at its top levels.
STRANDED_MEMORY = 4096


def _no_guard(_locked: StoredCase) -> None:
    """The timer acts on any incident: nothing to check beyond `transition()`."""


def _notice(
    case: IncidentCase, kind: NotificationKind, cause: str, recipient: str, body: str, at: datetime
) -> Notification:
    return Notification(
        notification_id=notification_id(case.incident_id, cause, recipient),
        recipient=recipient,
        incident_id=case.incident_id,
        cell_id=case.cell_id,
        kind=kind,
        severity=int(case.severity),
        title=f"{kind}: {case.category} in {case.cell_id}"[:120],
        body=body[:1000],
        created_at=at,
    )


def _announce(case: IncidentCase, kind: NotificationKind, at: datetime) -> list[Notification]:
    """One notification to each person the latest step named; the step's seq is the cause."""
    step = case.timeline[-1]
    cause = f"step:{len(case.timeline) - 1}"
    body = step.reason or step.note or f"{case.category} incident {case.incident_id}"
    return [_notice(case, kind, cause, person, body, at) for person in step.assignees]


class Dispatcher:
    """One dispatcher process; any number may run against the same database."""

    def __init__(
        self,
        settings: Settings,
        *,
        conn: psycopg.AsyncConnection,
        sink: RecordSink,
        grid: Grid,
        sources: SourceFactory | None = None,
    ) -> None:
        self._settings = settings
        self._sources = sources or kafka_sources(settings.kafka)
        self._conn = conn
        self._sink = sink
        self._grid = grid
        self._topic = settings.kafka.topic("notifications")
        self._stop = threading.Event()
        # (incident, level) already warned of having nobody above: warn once, not every tick.
        self._stranded: RecentKeys[tuple[str, Level]] = RecentKeys(STRANDED_MEMORY)

    async def _stage(self, notes: Sequence[Notification]) -> None:
        """Put the notifications in the outbox, in the transaction of the change they announce."""
        await put_records(
            self._conn,
            [
                OutboxRecord(
                    topic=self._topic,
                    key=note.recipient.encode(),
                    value=note.model_dump_json(by_alias=True).encode(),
                )
                for note in notes
            ],
        )

    async def send_outbox(self) -> int:
        """Produce what waits in the outbox, ours or a dead dispatcher's; how many went."""
        return await relay_outbox(self._conn, self._sink)

    async def dispatch(self, found: IncidentDetected, now: datetime, *, relay: bool = True) -> bool:
        """Send a new incident nobody holds to people; False while its row is not stored yet.

        With `relay`, the outbox is produced at once; a batch relays once at its end instead.
        """
        async with self._conn.transaction():
            stored = await read_case(self._conn, found.incident_id, lock=True)
            if stored is None:
                return False
            case = stored.case
            # A redelivered detection finds it dispatched: its notifications went to the outbox
            # with the dispatch, so there is nothing to say again.
            if case.status == "new" and not case.assignees:
                if not await open_clock(self._conn, case.incident_id):
                    await start_clock(self._conn, deadlines(case, self._settings.sla)[0])
                await self._stage(await self._first_dispatch(stored, now))
        if relay:
            await self.send_outbox()
        return True

    async def _first_dispatch(self, stored: StoredCase, now: datetime) -> list[Notification]:
        accounts, reason = await first_assignees(
            self._conn, stored, grid=self._grid, cfg=self._settings.assignment, at=now
        )
        incident_id = stored.case.incident_id
        if not accounts:
            log.warning("incident %s: nobody to dispatch to; its accept clock runs", incident_id)
            return []
        command = Dispatch(actor=TIMER, assignees=tuple(accounts), note=reason)
        try:
            case, _ = await apply_command(
                self._conn,
                incident_id,
                command,
                at=now,
                sla_cfg=self._settings.sla,
                guard=_no_guard,
            )
        except IllegalTransition as refused:
            log.info("incident %s already dispatched: %s", incident_id, refused.message)
            return []
        log.info("dispatched %s to %s", incident_id, ", ".join(accounts))
        return _announce(case, "assigned", now)

    async def tick(self, now: datetime) -> int:
        """Escalate or remind for every claimable clock, in one transaction; how many claimed."""
        async with self._conn.transaction():
            rows = await claim_clocks(
                self._conn, now=now, cfg=self._settings.sla, limit=CLAIM_LIMIT
            )
            for row in rows:
                await self._stage(await self._act(row, now))
        await self.send_outbox()
        return len(rows)

    async def _escalate(
        self, stored: StoredCase, deadline: Deadline, now: datetime
    ) -> list[Notification] | None:
        """Escalate to the nearest level above with somebody to tell; None if nobody is."""
        case = stored.case
        above, accounts_at, operators = await escalation_candidates(
            self._conn, stored, grid=self._grid, at=now
        )
        target = escalation_target(above, accounts_at, operators)
        if target is None:
            if above and self._stranded.first_time((case.incident_id, case.level)):
                log.warning(
                    "incident %s: nobody above %s to escalate to, not even an operator;"
                    " reminding its assignees",
                    case.incident_id,
                    case.level,
                )
            return None
        self._stranded.forget((case.incident_id, case.level))
        reason = f"{deadline.clock} deadline passed at {deadline.due_at:%Y-%m-%d %H:%M:%S}Z"
        command = Escalate(
            actor=TIMER, level=target.level, reason=reason, assignees=target.accounts
        )
        case, _ = await apply_command(
            self._conn,
            case.incident_id,
            command,
            at=now,
            sla_cfg=self._settings.sla,
            guard=_no_guard,
        )
        log.info(
            "escalated %s to %s: %s", case.incident_id, target.level, ", ".join(target.accounts)
        )
        return _announce(case, "escalated", now)

    async def _act(self, row: dict[str, Any], now: datetime) -> list[Notification]:
        """Escalate a due clock if anyone is above, else remind when a reminder is owed."""
        # A step in flight holds the incident and waits for our clock row: leave it to them.
        if not await lock_incident(self._conn, row["incident_id"]):
            return []
        stored = await read_case(self._conn, row["incident_id"], lock=True)
        assert stored is not None  # the clock row references it
        case = stored.case
        if case.status in ("closed", "cancelled"):
            # Ended between the claim and the lock, or by a path that left its clock: stop it.
            await finish_clock(self._conn, row["id"], now)
            return []
        fields = ("incident_id", "cell_id", "clock", "level", "started_at", "due_at")
        deadline = Deadline.model_validate({k: row[k] for k in fields})
        if deadline.due_at <= now:
            escalated = await self._escalate(stored, deadline, now)
            if escalated is not None:
                return escalated
        owed = next_reminder(deadline, row["last_reminded_at"], self._settings.sla)
        if owed > now:
            return []
        # The same `now` stamps the clock and dates the reminder: a reminder is no longer owed
        # once a finished clock was reminded at or after its time (store/notifications.py).
        await mark_reminded(self._conn, row["id"], now)
        # The reminder's offset into its clock run names it, so a retry makes the same ids.
        cause = f"reminder:{row['id']}:{int((owed - deadline.started_at).total_seconds())}"
        body = f"{deadline.clock} due at {deadline.due_at:%H:%M:%S}Z: please act"
        return [_notice(case, "reminder", cause, person, body, now) for person in case.assignees]

    async def _consume(self, consumer: RecordSource, batches: Batches) -> bool:
        """Dispatch each detection in order; commit what is done; False if some must wait."""
        done: dict[TopicPartition, OffsetAndMetadata] = {}
        waiting = False
        for tp, records in batches.items():
            for record in records:
                try:
                    item = INCIDENT_RECORD.validate_json(record.value)
                except ValidationError:
                    # The queue writer dead-letters it; the dispatcher has nothing to send.
                    log.warning("skipping unreadable record at offset %d", record.offset)
                    item = None
                if isinstance(item, IncidentDetected) and not await self.dispatch(
                    item, datetime.now(UTC), relay=False
                ):
                    consumer.seek(tp, record.offset)
                    waiting = True
                    break
                done[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
        # One relay for the batch: a flush per detection would stall a burst.
        await self.send_outbox()
        if done:
            consumer.commit(done)
        return not waiting

    async def run(self) -> None:
        """Consume detections and tick the clocks until `stop()`."""
        kafka = self._settings.kafka
        consumer = self._sources(
            [kafka.topic("incidents")], f"{kafka.topic_prefix}-dispatch", "gridwatch-dispatch", 200
        )
        next_tick = 0.0
        try:
            while not self._stop.is_set():
                # Blocking is fine: this loop is the process's only work.
                batches = consumer.poll(timeout_ms=500)
                if batches and not await self._consume(consumer, batches):
                    await asyncio.sleep(NOT_STORED_PAUSE_S)
                if time.monotonic() >= next_tick:
                    await self.tick(datetime.now(UTC))
                    next_tick = time.monotonic() + TICK_S
        finally:
            consumer.close(autocommit=False)

    def stop(self) -> None:
        """Ask `run` to return after the work in hand."""
        self._stop.set()
