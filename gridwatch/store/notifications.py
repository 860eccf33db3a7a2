"""Stored notifications and their delivery records; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from gridwatch.notifications import Notification
from gridwatch.ports import DeliveryResult


def record_notifications(conn: psycopg.Connection, items: Sequence[Notification]) -> None:
    """Store each notification once: a repeat of an id (a replay, a retry) is dropped."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO notifications"
            " (notification_id, recipient, incident_id, kind, payload, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (notification_id) DO NOTHING",
            [
                (
                    n.notification_id,
                    n.recipient,
                    n.incident_id,
                    n.kind,
                    Jsonb(n.model_dump(mode="json", by_alias=True)),
                    n.created_at,
                )
                for n in items
            ],
        )


async def notifications_since(
    conn: psycopg.AsyncConnection, recipient: str, *, since: int, limit: int
) -> list[tuple[int, Notification]]:
    """The recipient's notifications after cursor `since` not yet acked, oldest first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT n.seq, n.payload FROM notifications n WHERE n.recipient = %s AND n.seq > %s"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE"
            " d.notification_id = n.notification_id AND d.state = 'acked')"
            " ORDER BY n.seq LIMIT %s",
            (recipient, since, limit),
        )
        rows: list[dict[str, Any]] = await cur.fetchall()
    return [(row["seq"], Notification.model_validate(row["payload"])) for row in rows]


async def notification_recipient(conn: psycopg.AsyncConnection, notification_id: str) -> str | None:
    """Who the stored notification is for; None if there is no such notification."""
    cur = await conn.execute(
        "SELECT recipient FROM notifications WHERE notification_id = %s", (notification_id,)
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def record_delivery(
    conn: psycopg.AsyncConnection, notification_id: str, result: DeliveryResult
) -> None:
    """Upsert the channel's delivery row; a repeat of the same state keeps the first time."""
    await conn.execute(
        "INSERT INTO deliveries (notification_id, channel, state, detail)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (notification_id, channel)"
        " DO UPDATE SET state = EXCLUDED.state, at = now(), detail = EXCLUDED.detail"
        " WHERE deliveries.state <> EXCLUDED.state",
        (notification_id, result.channel, result.state, result.detail),
    )


@dataclass(frozen=True)
class PushSubscription:
    """A browser's Web Push subscription: where to send and the keys to encrypt for."""

    endpoint: str
    p256dh: str
    auth: str


async def save_subscription(
    conn: psycopg.AsyncConnection, account_id: str, subscription: PushSubscription
) -> None:
    """Keep a subscription for the account; the same endpoint again replaces it."""
    await conn.execute(
        "INSERT INTO push_subscriptions (endpoint, account_id, p256dh, auth)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (endpoint) DO UPDATE SET"
        " account_id = EXCLUDED.account_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth",
        (subscription.endpoint, account_id, subscription.p256dh, subscription.auth),
    )


async def subscriptions_of(
    conn: psycopg.AsyncConnection, account_id: str
) -> list[PushSubscription]:
    """The account's push subscriptions, oldest first."""
    cur = await conn.execute(
        "SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE account_id = %s"
        " ORDER BY created_at",
        (account_id,),
    )
    return [PushSubscription(*row) for row in await cur.fetchall()]


async def drop_subscription(
    conn: psycopg.AsyncConnection, endpoint: str, *, account_id: str | None = None
) -> bool:
    """Forget a subscription (only the account's, if given); whether there was one."""
    cur = await conn.execute(
        "DELETE FROM push_subscriptions WHERE endpoint = %s"
        " AND (%s::text IS NULL OR account_id = %s)",
        (endpoint, account_id, account_id),
    )
    return cur.rowcount > 0
