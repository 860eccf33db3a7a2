"""Live push: the phones' open WebSockets on this replica, and the feed that fills them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
from psycopg_pool import AsyncConnectionPool

from gridwatch.notification_log import NotificationStream, kafka_notifications, relay
from gridwatch.notifications import Notification
from gridwatch.ports import DeliveryResult, Notifier
from gridwatch.settings import Settings
from gridwatch.webhook import WebhookNotifier
from gridwatch.webpush import WebPushNotifier

log = logging.getLogger(__name__)

# The longest a replica lets one slow phone fall behind before it drops that socket.
_QUEUE_LIMIT = 1000


@dataclass(eq=False)
class Connection:
    """One open socket: what waits to go out, and every id it already carried."""

    inbox: asyncio.Queue[Notification] = field(default_factory=lambda: asyncio.Queue(_QUEUE_LIMIT))
    sent: set[str] = field(default_factory=set)
    overflowed: bool = False

    def first_time(self, notification_id: str) -> bool:
        """True once per id: the caller sends it now; False for every repeat."""
        if notification_id in self.sent:
            return False
        self.sent.add(notification_id)
        return True


class Hub:
    """The `Notifier` of open sockets on this replica, by recipient account id."""

    def __init__(self) -> None:
        self._open: dict[str, set[Connection]] = {}

    def attach(self, recipient: str) -> Connection:
        """Register a socket; live notifications queue for it from now on."""
        connection = Connection()
        self._open.setdefault(recipient, set()).add(connection)
        return connection

    def detach(self, recipient: str, connection: Connection) -> None:
        """Forget a closed socket."""
        mine = self._open.get(recipient, set())
        mine.discard(connection)
        if not mine:
            self._open.pop(recipient, None)

    async def deliver(self, n: Notification) -> DeliveryResult:
        """Queue for each of the recipient's sockets here; `sent` if there was one."""
        targets = list(self._open.get(n.recipient, ()))
        for connection in targets:
            try:
                connection.inbox.put_nowait(n)
            except asyncio.QueueFull:
                connection.overflowed = True
        if targets:
            return DeliveryResult("websocket", "sent", f"{len(targets)} socket(s)")
        return DeliveryResult("websocket", "failed", "no open socket on this replica")


Feed = Callable[[Hub, AsyncConnectionPool], Coroutine[Any, Any, None]]


async def _fill(live: AsyncGenerator[Notification, None], hub: Hub) -> None:
    """Every notification from now on into `hub`."""
    async with contextlib.aclosing(live) as notifications:
        async for n in notifications:
            await hub.deliver(n)


def notification_feed(settings: Settings, notifications: NotificationStream) -> Feed:
    """The API's background work: this replica's sockets, and webhook and Web Push if set."""
    notify = settings.notify

    async def run(hub: Hub, pool: AsyncConnectionPool) -> None:
        relayed: dict[str, Notifier] = {}
        try:
            async with httpx.AsyncClient() as http, asyncio.TaskGroup() as tasks:
                if notify.webhook_url is not None:
                    relayed["webhook"] = WebhookNotifier(notify, client=http)
                if notify.vapid_private_key.get_secret_value():
                    relayed["webpush"] = WebPushNotifier(notify, pool=pool)
                # No group for the sockets: every replica reads every partition and pushes to
                # its own, leaving nothing behind when it goes; what came before a phone
                # connected, the phone reads from the store (`since`). One shared group per
                # relayed channel: each notification goes out once per deployment.
                tasks.create_task(_fill(notifications(None), hub))
                for channel, notifier in relayed.items():
                    group = notifications(f"{settings.kafka.topic_prefix}-{channel}")
                    tasks.create_task(relay(group, notifier, pool=pool, max_age_s=notify.max_age_s))
        except Exception:
            log.exception("the notification feed stopped; live pushes and relays are off")
            raise

    return run


def kafka_feed(settings: Settings) -> Feed:
    """The distributed mode's feed: notifications read from Kafka."""
    return notification_feed(settings, kafka_notifications(settings.kafka))
