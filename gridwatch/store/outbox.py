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


async def put_records(conn: psycopg.AsyncConnection, records: Sequence[OutboxRecord]) -> list[int]:
    """Store records to produce once the caller's transaction commits; their row ids."""
    ids: list[int] = []
    async with conn.cursor() as cur:
        for r in records:
            await cur.execute(
                "INSERT INTO outbox (topic, key, value) VALUES (%s, %s, %s) RETURNING id",
                (r.topic, r.key, r.value),
            )
            row = await cur.fetchone()
            assert row is not None  # RETURNING always gives the row
            ids.append(row[0])
    return ids


async def claim_records(
    conn: psycopg.AsyncConnection, *, limit: int, ids: Collection[int] | None = None
) -> list[tuple[int, OutboxRecord]]:
    """Lock the oldest waiting records (of `ids`, if given); rows another holds are skipped."""
    only = "" if ids is None else "WHERE id = ANY(%(ids)s) "
    cur = await conn.execute(
        f"SELECT id, topic, key, value FROM outbox {only}ORDER BY id LIMIT %(limit)s"
        " FOR UPDATE SKIP LOCKED".encode(),
        {"limit": limit, "ids": list(ids or ())},
    )
    return [
        (row_id, OutboxRecord(topic=topic, key=bytes(key), value=bytes(value)))
        for row_id, topic, key, value in await cur.fetchall()
    ]


async def delete_records(conn: psycopg.AsyncConnection, ids: Collection[int]) -> None:
    """Forget records Kafka acknowledged."""
    await conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", (list(ids),))
