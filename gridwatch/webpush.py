"""The Web Push channel (RFC 8030 with VAPID, RFC 8292): phones with the page closed."""

from __future__ import annotations

import asyncio
import json
import logging

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from psycopg_pool import AsyncConnectionPool
from py_vapid import Vapid  # type: ignore[import-untyped]
from py_vapid.utils import b64urlencode  # type: ignore[import-untyped]
from pywebpush import WebPushException, webpush  # type: ignore[import-untyped]

from gridwatch.notifications import Notification
from gridwatch.notify_settings import NotifySettings
from gridwatch.ports import DeliveryResult
from gridwatch.push_hosts import endpoint_allowed
from gridwatch.store.notifications import PushSubscription, drop_subscription, subscriptions_of

log = logging.getLogger(__name__)

# Push services answer these for a subscription that is gone for good.
_GONE = {404, 410}


def application_server_key(private_key: str) -> str:
    """The VAPID public key (uncompressed point, base64url) a page subscribes with."""
    public = Vapid.from_raw(private_key.encode()).public_key
    point: bytes = public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return str(b64urlencode(point))


class WebPushNotifier:
    """Encrypts the notification for each of the recipient's subscriptions and sends it."""

    def __init__(self, settings: NotifySettings, *, pool: AsyncConnectionPool) -> None:
        key = settings.vapid_private_key.get_secret_value()
        if not key or settings.vapid_subject is None:
            raise ValueError("Web Push needs notify.vapid_private_key and notify.vapid_subject")
        self._key = key
        self._subject = settings.vapid_subject
        self._timeout = settings.timeout_s
        self._hosts = settings.push_hosts
        self._pool = pool

    def _send(self, subscription: PushSubscription, data: str) -> int:
        """One push (blocking); the push service's status."""
        try:
            response = webpush(
                subscription_info={
                    "endpoint": subscription.endpoint,
                    "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
                },
                data=data,
                vapid_private_key=self._key,
                vapid_claims={"sub": self._subject},
                timeout=self._timeout,
                ttl=24 * 3600,
            )
        except WebPushException as exc:
            return int(exc.response.status_code) if exc.response is not None else 0
        return int(response.status_code)

    async def deliver(self, n: Notification) -> DeliveryResult:
        """Push to each of the recipient's subscriptions; forget those the service says are gone."""
        async with self._pool.connection() as conn:
            subscriptions = []
            for s in await subscriptions_of(conn, n.recipient):
                if endpoint_allowed(s.endpoint, self._hosts):
                    subscriptions.append(s)
                else:
                    # Stored before the allowlist (or before it was narrowed): never POST there.
                    log.warning("dropping a push subscription of %s: host not allowed", n.recipient)
                    await drop_subscription(conn, s.endpoint)
        if not subscriptions:
            return DeliveryResult("webpush", "failed", "no push subscription")
        data = n.model_dump_json(by_alias=True)
        statuses = [await asyncio.to_thread(self._send, s, data) for s in subscriptions]
        for subscription, status in zip(subscriptions, statuses, strict=True):
            if status in _GONE:
                log.info("push subscription of %s is gone (%d)", n.recipient, status)
                async with self._pool.connection() as conn:
                    await drop_subscription(conn, subscription.endpoint)
        detail = json.dumps(statuses)
        ok = any(200 <= s < 300 for s in statuses)
        return DeliveryResult("webpush", "delivered" if ok else "failed", detail)
