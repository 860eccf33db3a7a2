"""Notifications for the phone: live over a WebSocket, caught up over REST, acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Query, Request, WebSocket, WebSocketDisconnect
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, Field

from api.auth import TokenError, decode_token
from api.deps import (
    ConnDep,
    CurrentUser,
    PoolDep,
    SettingsDep,
    client_address,
    user_from_token,
)
from api.errors import ApiError
from api.push import Connection, Hub
from gridwatch.notifications import Notification
from gridwatch.ports import DeliveryResult
from gridwatch.push_hosts import endpoint_allowed
from gridwatch.store.notifications import (
    PushSubscription,
    drop_subscription,
    latest_seq,
    notification_recipient,
    notifications_since,
    record_delivery,
    save_subscription,
    still_owed,
    stored_seq,
)
from gridwatch.store.users import record_audit
from gridwatch.webpush import application_server_key

router = APIRouter(tags=["notifications"])

# At most this many missed notifications per catch-up read (REST page or socket backlog).
_BACKLOG = 500
# A live push may reach the phone, and its ack come back, before the queue writer has stored
# the notification: the ack waits this long for it, in steps, rather than being lost.
_ACK_WAIT_S = 5.0
_ACK_WAIT_STEP_S = 0.25
# Close codes of the socket: a token that is no good, and a phone too slow to keep up.
_UNAUTHORIZED = 4401
_TOO_SLOW = 4408

Since = Annotated[
    int, Query(ge=0, description="Cursor: only notifications with a larger seq (0: all).")
]


class NotificationItem(BaseModel):
    """One notification with its cursor position."""

    seq: int | None = Field(description="Catch-up cursor; null on a live push not yet stored.")
    notification: Notification = Field(description="The notification.")


class NotificationPage(BaseModel):
    """Missed notifications, oldest first; ask again with `since=next` for more."""

    items: list[NotificationItem] = Field(description="Unacknowledged notifications, by seq.")
    next: int = Field(description="The cursor to pass as `since` next time.")


class Acked(BaseModel):
    """The acknowledgement recorded."""

    notification_id: str = Field(description="The notification.")
    state: str = Field("acked", description="Always `acked`.")


@router.get(
    "/v1/me/notifications", response_model=NotificationPage, summary="Notifications I missed"
)
async def read_notifications(
    conn: ConnDep,
    user: CurrentUser,
    since: Since = 0,
    limit: Annotated[int, Query(ge=1, le=_BACKLOG, description="At most this many.")] = 100,
) -> NotificationPage:
    """My unacknowledged notifications after `since`, oldest first."""
    rows = await notifications_since(conn, user.id, since=since, limit=limit)
    items = [NotificationItem(seq=seq, notification=n) for seq, n in rows]
    return NotificationPage(items=items, next=rows[-1][0] if rows else since)


@router.post(
    "/v1/me/notifications/{notification_id}/ack",
    response_model=Acked,
    summary="Acknowledge a notification",
)
async def ack_notification(
    pool: PoolDep,
    user: CurrentUser,
    request: Request,
    notification_id: Annotated[str, Path(description="The notification's id.")],
) -> Acked:
    """Record that I saw it (idempotent); it leaves my catch-up reads."""

    async def recipient_of() -> str | None:
        # A connection per look, none while waiting: acks of made-up ids cannot drain the pool.
        async with pool.connection() as conn:
            return await notification_recipient(conn, notification_id)

    recipient = await recipient_of()
    waited = 0.0
    while recipient is None and waited < _ACK_WAIT_S:
        await asyncio.sleep(_ACK_WAIT_STEP_S)
        waited += _ACK_WAIT_STEP_S
        recipient = await recipient_of()
    if recipient != user.id:
        raise ApiError(404, "not_found", f"you have no notification {notification_id}")
    async with pool.connection() as conn:
        await record_delivery(conn, notification_id, DeliveryResult("app", "acked"))
        await record_audit(
            conn,
            actor=user.id,
            action="notification.ack",
            target=f"notification:{notification_id}",
            client=client_address(request),
        )
    return Acked(notification_id=notification_id)


class SubscriptionKeys(BaseModel):
    """The keys of a browser's PushSubscription (`subscription.toJSON().keys`)."""

    p256dh: str = Field(min_length=1, max_length=200, description="Browser's P-256 key, b64url.")
    auth: str = Field(min_length=1, max_length=100, description="Auth secret, base64url.")


class SubscriptionIn(BaseModel):
    """A browser's PushSubscription as `subscription.toJSON()` gives it."""

    endpoint: str = Field(pattern=r"^https?://", max_length=2000, description="Push service URL.")
    keys: SubscriptionKeys = Field(description="What the payload is encrypted for.")


class VapidKey(BaseModel):
    """What a page passes as `applicationServerKey` to `pushManager.subscribe`."""

    public_key: str = Field(description="The VAPID public key, uncompressed point, base64url.")


@router.get("/v1/push/vapid-key", response_model=VapidKey, summary="Web Push server key")
async def read_vapid_key(settings: SettingsDep) -> VapidKey:
    """The key to subscribe with; 503 while Web Push is not configured."""
    key = settings.notify.vapid_private_key.get_secret_value()
    if not key:
        raise ApiError(503, "no_web_push", "this API runs without Web Push")
    return VapidKey(public_key=application_server_key(key))


@router.post(
    "/v1/me/push-subscriptions", status_code=204, summary="Receive Web Push on this browser"
)
async def subscribe(
    request: Request, conn: ConnDep, settings: SettingsDep, user: CurrentUser, body: SubscriptionIn
) -> None:
    """Keep the browser's subscription: my notifications are pushed to it too."""
    # The relay POSTs to the endpoint: only a browser push service, or the API would POST to
    # whatever a caller names (its own network included).
    if not endpoint_allowed(body.endpoint, settings.notify.push_hosts):
        raise ApiError(
            422,
            "push_endpoint_not_allowed",
            f"{urlsplit(body.endpoint).hostname or body.endpoint} is not a push service this "
            "API sends to (https on a host of notify.push_hosts)",
        )
    subscription = PushSubscription(body.endpoint, body.keys.p256dh, body.keys.auth)
    await save_subscription(conn, user.id, subscription)
    await record_audit(
        conn,
        actor=user.id,
        action="notification.subscribe",
        target=f"user:{user.id}",
        client=client_address(request),
    )


class Unsubscribe(BaseModel):
    """Which of my browser subscriptions to forget."""

    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(max_length=2048, description="The subscription's endpoint URL.")


@router.delete(
    "/v1/me/push-subscriptions", status_code=204, summary="Stop Web Push to this browser"
)
async def unsubscribe(
    request: Request, conn: ConnDep, user: CurrentUser, body: Unsubscribe
) -> None:
    """Forget the browser's subscription (sign-out on a shared phone); 404 if it is not mine."""
    if not await drop_subscription(conn, body.endpoint, account_id=user.id):
        raise ApiError(404, "unknown_subscription", "no push subscription of yours has it")
    await record_audit(
        conn,
        actor=user.id,
        action="notification.unsubscribe",
        target=f"user:{user.id}",
        client=client_address(request),
    )


async def _push(
    websocket: WebSocket, connection: Connection, item: NotificationItem, pool: AsyncConnectionPool
) -> None:
    """Send a notification unless this socket already carried it, and record that it went."""
    n = item.notification
    if not connection.first_time(n.notification_id):
        return
    message = {"type": "notification"} | item.model_dump(mode="json", by_alias=True)
    await websocket.send_text(json.dumps(message))
    async with pool.connection() as conn:
        await record_delivery(conn, n.notification_id, DeliveryResult("websocket", "sent"))


async def _catch_up(
    websocket: WebSocket,
    connection: Connection,
    user_id: str,
    cursor: int,
    through: int | None = None,
) -> int:
    """Send what is stored after `cursor` (to `through`, else all), page by page; the new cursor."""
    pool: AsyncConnectionPool = websocket.app.state.pool
    while True:
        async with pool.connection() as conn:
            page = await notifications_since(
                conn, user_id, since=cursor, limit=_BACKLOG, through=through
            )
        for seq, n in page:
            await _push(websocket, connection, NotificationItem(seq=seq, notification=n), pool)
        if page:
            cursor = page[-1][0]
        if len(page) < _BACKLOG:
            return cursor if through is None else max(cursor, through)


async def _serve(websocket: WebSocket, connection: Connection, user_id: str, since: int) -> None:
    """The backlog after `since`, then live notifications, until the phone leaves.

    The socket's cursor: every stored notification up to it that the phone needs went out on
    this socket, or came before `since`. So a live one already stored carries its seq, after
    any stored ones between the cursor and it, and the largest seq the phone saw is a safe
    `since` for its next connection: nothing missed, nothing it saw sent again.
    """
    pool: AsyncConnectionPool = websocket.app.state.pool
    cursor = await _catch_up(websocket, connection, user_id, since)
    while True:
        n = await connection.inbox.get()
        if connection.overflowed:
            await websocket.close(_TOO_SLOW, "too far behind; reconnect with since")
            return
        async with pool.connection() as conn:
            seq = await stored_seq(conn, n.notification_id)
            # Not stored yet: it goes now without a seq, unless it is a reminder no longer owed.
            send_now = seq is None and await still_owed(conn, n)
        if send_now:
            await _push(websocket, connection, NotificationItem(seq=None, notification=n), pool)
        # Stored: the catch-up read decides (acked, a reminder no longer owed) and adds its seq.
        elif seq is not None and seq > cursor:
            cursor = await _catch_up(websocket, connection, user_id, cursor, seq)


async def _until_expired(websocket: WebSocket, token: str) -> None:
    """Close the socket when its token runs out: the phone renews it and comes back.

    Without this, a socket outlives its sign-in: a disabled account's phone kept hearing.
    """
    state = websocket.app.state
    # TokenError: it ran out since the handshake checked it; close at once.
    with contextlib.suppress(TokenError):
        claims = decode_token(token, "access", auth=state.settings.auth, key=state.signing_key)
        await asyncio.sleep(max(0.0, claims["exp"] - time.time()))
    await websocket.close(_UNAUTHORIZED, "the access token has expired; reconnect with a new one")


async def _until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the phone sends, until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()


@router.websocket("/v1/ws")
async def live(
    websocket: WebSocket,
    token: Annotated[str, Query(description="An access token (browsers cannot set headers).")],
    since: Annotated[
        int | None, Query(ge=0, description="Send what I missed after it first.")
    ] = None,
) -> None:
    """Push my notifications as they come; with `since`, what I missed comes first."""
    try:
        user = await user_from_token(websocket, token)
    except ApiError as exc:
        # Accepted first: a refused handshake is a bare 403 to a browser, a close code is not.
        await websocket.accept()
        await websocket.close(_UNAUTHORIZED, exc.msg)
        return
    hub: Hub = websocket.app.state.hub
    if since is None:
        # Read before attaching: what is stored after this comes live or after the cursor.
        pool: AsyncConnectionPool = websocket.app.state.pool
        async with pool.connection() as conn:
            since = await latest_seq(conn, user.id)
    # Attached before the backlog is read, and before the phone learns it is connected:
    # nothing stored meanwhile falls between the two, and what arrives both ways goes once.
    connection = hub.attach(user.id)
    try:
        await websocket.accept()
        tasks = [
            asyncio.create_task(_serve(websocket, connection, user.id, since)),
            asyncio.create_task(_until_closed(websocket)),
            asyncio.create_task(_until_expired(websocket, token)),
        ]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            # A send to a phone that just left fails: that is the phone leaving, not an error.
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                task.result()
    finally:
        hub.detach(user.id, connection)
