"""The webhook channel: notifications POSTed, signed, to an SMS or voice gateway."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable

import httpx

from gridwatch.notifications import Notification
from gridwatch.notify_settings import NotifySettings
from gridwatch.ports import DeliveryResult

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Gridwatch-Signature"


def signature(secret: bytes, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def backoff_delays(retries: int, *, base_s: float, cap_s: float) -> list[float]:
    """Seconds to wait before each retry: base, doubling, never above the cap."""
    return [min(cap_s, base_s * 2**attempt) for attempt in range(retries)]


class WebhookNotifier:
    """POSTs each notification as JSON; retries failures and 5xx answers with backoff."""

    def __init__(
        self,
        settings: NotifySettings,
        *,
        client: httpx.AsyncClient,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if settings.webhook_url is None:
            raise ValueError("the webhook channel needs notify.webhook_url")
        self._url = settings.webhook_url
        self._secret = settings.webhook_secret.get_secret_value().encode()
        self._timeout = settings.timeout_s
        self._delays = backoff_delays(
            settings.retries, base_s=settings.backoff_s, cap_s=settings.backoff_max_s
        )
        self._client = client
        self._sleep = sleep

    async def _attempt(self, body: bytes, headers: dict[str, str]) -> tuple[bool, str]:
        """One POST: (done, what happened); done also for a 4xx, which a retry cannot fix."""
        try:
            response = await self._client.post(
                self._url, content=body, headers=headers, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return response.status_code < 500, f"HTTP {response.status_code}"

    async def deliver(self, n: Notification) -> DeliveryResult:
        """POST until the gateway answers below 500 or the retries are spent."""
        body = n.model_dump_json(by_alias=True).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self._secret, body),
            "X-Gridwatch-Notification": n.notification_id,
        }
        done, detail = await self._attempt(body, headers)
        for delay in self._delays:
            if done:
                break
            log.warning("webhook %s: %s; retrying in %.1f s", n.notification_id, detail, delay)
            await self._sleep(delay)
            done, detail = await self._attempt(body, headers)
        ok = done and detail.startswith("HTTP 2")
        return DeliveryResult("webhook", "delivered" if ok else "failed", detail)
