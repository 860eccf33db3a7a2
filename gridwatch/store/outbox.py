"""The outbox: Kafka records stored with the change that decided them; the caller commits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class OutboxRecord:
    """One record to produce: where, under which key, what."""

    topic: str
    key: bytes
    value: bytes


async def put_records(conn: psycopg.AsyncConnection, records: Sequence[OutboxRecord]) -> None:
    """Store records to produce once the caller's transaction commits."""
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO outbox (topic, key, value) VALUES (%s, %s, %s)",
            [(r.topic, r.key, r.value) for r in records],
        )


async def claim_records(
    conn: psycopg.AsyncConnection, *, limit: int
) -> list[tuple[int, OutboxRecord]]:
    """Lock the oldest waiting records, with their row ids; rows another holds are skipped."""
    cur = await conn.execute(
        "SELECT id, topic, key, value FROM outbox ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
        (limit,),
    )
    return [
        (row_id, OutboxRecord(topic=topic, key=bytes(key), value=bytes(value)))
        for row_id, topic, key, value in await cur.fetchall()
    ]


async def delete_records(conn: psycopg.AsyncConnection, ids: Collection[int]) -> None:
    """Forget records Kafka acknowledged."""
    await conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", (list(ids),))
