"""The notification channels without services: signature, backoff, dedupe, hub, retries."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr

from api.push import Connection, Hub
from gridwatch.notifications import Notification, notification_id
from gridwatch.notify_settings import NotifySettings
from gridwatch.webhook import SIGNATURE_HEADER, WebhookNotifier, backoff_delays, signature


def note(recipient: str, cause: str = "assigned") -> Notification:
    """A notification to `recipient`."""
    return Notification(
        notification_id=notification_id("inc-1", cause, recipient),
        recipient=recipient,
        incident_id="inc-1",
        cell_id="cell-1",
        kind="assigned",
        severity=3,
        title="Smoke in your cell",
        body="Go and look.",
        created_at=datetime(2026, 11, 28, 8, 0, tzinfo=UTC),
    )


def test_signature_is_hmac_sha256_of_the_body() -> None:
    expected = hmac.new(b"key", b'{"a":1}', hashlib.sha256).hexdigest()
    assert signature(b"key", b'{"a":1}') == f"sha256={expected}"
    assert signature(b"other", b'{"a":1}') != signature(b"key", b'{"a":1}')


def test_backoff_doubles_up_to_the_cap() -> None:
    assert backoff_delays(5, base_s=0.5, cap_s=3.0) == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_delays(0, base_s=0.5, cap_s=3.0) == []


def test_a_connection_passes_each_id_once() -> None:
    connection = Connection()
    assert connection.first_time("a")
    assert not connection.first_time("a")
    assert connection.first_time("b")


def test_the_hub_queues_only_for_the_recipients_sockets() -> None:
    async def scenario() -> None:
        hub = Hub()
        mine, theirs = hub.attach("u-1"), hub.attach("u-2")
        result = await hub.deliver(note("u-1"))
        assert (result.channel, result.state) == ("websocket", "sent")
        assert mine.inbox.get_nowait() == note("u-1")
        assert theirs.inbox.empty()
        hub.detach("u-1", mine)
        assert (await hub.deliver(note("u-1"))).state == "failed"

    asyncio.run(scenario())


def test_the_webhook_retries_5xx_and_gives_up_after_the_retries() -> None:
    answers = iter([500, 503, 200])
    seen: list[httpx.Request] = []
    slept: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(answers, 500))

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    settings = NotifySettings(
        webhook_url="http://gateway.invalid/notify",
        webhook_secret=SecretStr("s3cret"),
        retries=2,
        backoff_s=1.0,
    )

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            notifier = WebhookNotifier(settings, client=client, sleep=sleep)
            first = await notifier.deliver(note("u-1"))
            assert (first.state, first.detail) == ("delivered", "HTTP 200")
            assert (await notifier.deliver(note("u-1", "reminder-1"))).state == "failed"

    asyncio.run(scenario())
    assert slept == [1.0, 2.0, 1.0, 2.0]
    assert len(seen) == 6
    body = seen[0].content
    assert seen[0].headers[SIGNATURE_HEADER] == signature(b"s3cret", body)
    assert Notification.model_validate_json(body) == note("u-1")


def test_a_4xx_is_final() -> None:
    calls: list[int] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400)

    async def scenario() -> str:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            settings = NotifySettings(webhook_url="http://gateway.invalid/notify")
            return (await WebhookNotifier(settings, client=client).deliver(note("u-1"))).detail

    assert asyncio.run(scenario()) == "HTTP 400"
    assert calls == [1]
