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


# A reminder is owed while the clock it was made for runs and the incident is open. The
# dispatcher stamps that clock's `last_reminded_at` with the reminder's `created_at`, and only
# a running clock is reminded: so a finished clock reminded at or after the reminder was made
# is its own (or the incident moved on past it). An accept, return, escalation or close
# finishes the clock. Other kinds are always owed. `n` has incident_id, kind, created_at.
_OWED = (
    "(n.kind <> 'reminder' OR (NOT EXISTS (SELECT 1 FROM incident_deadlines d"
    " WHERE d.incident_id = n.incident_id AND d.done_at IS NOT NULL"
    " AND d.last_reminded_at >= n.created_at) AND NOT EXISTS (SELECT 1 FROM incidents i"
    " WHERE i.incident_id = n.incident_id AND i.status IN ('closed', 'cancelled'))))"
)


async def notifications_since(
    conn: psycopg.AsyncConnection,
    recipient: str,
    *,
    since: int,
    limit: int,
    through: int | None = None,
) -> list[tuple[int, Notification]]:
    """The recipient's owed, unacked notifications after `since` (to `through`), oldest first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT n.seq, n.payload FROM notifications n WHERE n.recipient = %s AND n.seq > %s"
            " AND (%s::bigint IS NULL OR n.seq <= %s)"
            " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE"
            f" d.notification_id = n.notification_id AND d.state = 'acked') AND {_OWED}"
            " ORDER BY n.seq LIMIT %s",
            (recipient, since, through, through, limit),
        )
        rows: list[dict[str, Any]] = await cur.fetchall()
    return [(row["seq"], Notification.model_validate(row["payload"])) for row in rows]


async def still_owed(conn: psycopg.AsyncConnection, n: Notification) -> bool:
    """False for a reminder whose clock is done or whose incident ended; True otherwise."""
    if n.kind != "reminder":
        return True
    cur = await conn.execute(
        f"SELECT {_OWED} FROM (VALUES (%s, %s, %s::timestamptz)) AS n (incident_id, kind,"
        " created_at)",
        (n.incident_id, n.kind, n.created_at),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def stored_seq(conn: psycopg.AsyncConnection, notification_id: str) -> int | None:
    """The notification's catch-up cursor; None while the queue writer has not stored it."""
    cur = await conn.execute(
        "SELECT seq FROM notifications WHERE notification_id = %s", (notification_id,)
    )
    row = await cur.fetchone()
    return None if row is None else int(row[0])


async def latest_seq(conn: psycopg.AsyncConnection, recipient: str) -> int:
    """The largest cursor of the recipient's stored notifications (0 if none)."""
    cur = await conn.execute(
        "SELECT COALESCE(max(seq), 0) FROM notifications WHERE recipient = %s", (recipient,)
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


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
