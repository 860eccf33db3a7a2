"""Producing the outbox: claim waiting records, produce them, forget what Kafka acknowledged."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

import psycopg

from gridwatch.ports import RecordSink
from gridwatch.store.outbox import OutboxRecord, claim_records, delete_records

log = logging.getLogger(__name__)

BATCH = 500
FLUSH_TIMEOUT_S = 30.0


def _produce(sink: RecordSink, records: Sequence[tuple[int, OutboxRecord]]) -> list[int]:
    """Send the records and wait: the row ids Kafka acknowledged; the rest stay for a retry."""
    acked: list[int] = []
    failures: list[BaseException] = []

    def done(row: int, exc: BaseException | None) -> None:
        # Runs on the producer's I/O thread; list.append is atomic.
        if exc is None:
            acked.append(row)
        else:
            failures.append(exc)

    try:
        for row, record in records:
            sink.send(record.topic, record.key, record.value, partial(done, row))
        sink.flush(timeout_s=FLUSH_TIMEOUT_S)
    except Exception as exc:
        # Whatever Kafka raises means "not now": the rows stay and the next relay tries again.
        failures.append(exc)
    # A copy: an ack arriving after the flush gave up leaves its row, to be sent again.
    mine = list(acked)
    if failures:
        log.warning(
            "%d of %d outbox records not produced, kept for the next try: %r",
            len(records) - len(mine),
            len(records),
            failures[0],
        )
    return mine


async def relay_outbox(conn: psycopg.AsyncConnection, sink: RecordSink) -> int:
    """Produce waiting records, oldest first, until none is left or Kafka fails; how many went."""
    sent = 0
    while True:
        async with conn.transaction():
            records = await claim_records(conn, limit=BATCH)
            acked = _produce(sink, records) if records else []
            await delete_records(conn, acked)
        sent += len(acked)
        if len(records) < BATCH or len(acked) < len(records):
            return sent
