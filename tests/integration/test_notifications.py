"""Notification delivery against PostgreSQL and Kafka: sockets, catch-up, acks, webhook."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import os
import re
import threading
import uuid
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import http_ece  # type: ignore[import-untyped]
import httpx
import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from alerts.commands import Accept, Actor
from alerts.dispatcher import Dispatcher
from alerts.flows import apply_command
from alerts.queue import QueueWriter
from api.app import create_app
from api.auth import issue_access, signing_key
from api.push import Connection, Feed, Hub, notification_feed
from gridwatch.accounts import User
from gridwatch.grid.model import Grid
from gridwatch.incidents import Severity
from gridwatch.kafka_admin import ensure_topics
from gridwatch.local_log.log import LocalLog
from gridwatch.local_log.sink import LocalSink
from gridwatch.local_log.source import local_sources
from gridwatch.notification_log import (
    NotificationStream,
    kafka_notifications,
    relay,
    source_notifications,
)
from gridwatch.notifications import Notification, notification_id
from gridwatch.notify_settings import NotifySettings
from gridwatch.ports import DeliveryResult, RecordSink
from gridwatch.settings import Settings
from gridwatch.store.incidents import record_detections
from gridwatch.store.migrate import migrate
from gridwatch.store.notifications import record_notifications
from gridwatch.webhook import SIGNATURE_HEADER, WebhookNotifier, signature
from gridwatch.webpush import WebPushNotifier, application_server_key
from ingest.kafka_sink import KafkaSink
from tests.conftest import add_user, bearer, read_topic
from tests.integration.staff import staff_on_duty
from tests.integration.test_api_cases import detection

pytestmark = pytest.mark.integration
# The cell of the reminded worker: no other test here sends anyone there.
REMINDED_CELL = 6


def note(recipient: str, cause: str | None = None) -> Notification:
    """A new notification to `recipient` about a fresh incident."""
    incident = f"inc-{uuid.uuid4().hex[:8]}"
    return Notification(
        notification_id=notification_id(incident, cause or "assigned", recipient),
        recipient=recipient,
        incident_id=incident,
        cell_id="cell-1",
        kind="assigned",
        severity=3,
        title="Smoke in your cell",
        body="Go and look.",
        created_at=datetime.now(UTC),
    )


def store(settings: Settings, *items: Notification) -> list[int]:
    """Store notifications as the queue writer does; their seq, in order."""
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        record_notifications(conn, items)
        rows = conn.execute(
            "SELECT seq FROM notifications WHERE notification_id = ANY(%s) ORDER BY seq",
            ([n.notification_id for n in items],),
        ).fetchall()
    return [seq for (seq,) in rows]


def deliveries(settings: Settings, nid: str) -> dict[str, str]:
    """Channel to state of one notification's delivery rows."""
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT channel, state FROM deliveries WHERE notification_id = %s", (nid,)
        ).fetchall()
    return dict(rows)


def token(settings: Settings, user: User) -> str:
    """The raw access token of `user`."""
    return bearer(settings, user)["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def client(settings: Settings, grid: Grid) -> Iterator[TestClient]:
    """An API without a Kafka feed: the test hands notifications to its hub."""
    with TestClient(create_app(settings, grid=grid)) as c:
        yield c


def push(client: TestClient, n: Notification) -> None:
    """Hand `n` to the API's hub, as its Kafka feed would."""
    hub: Hub = client.app.state.hub  # type: ignore[attr-defined]
    assert client.portal is not None
    client.portal.call(hub.deliver, n)


def received(ws: WebSocketTestSession) -> tuple[int | None, str]:
    """(seq, notification id) of the next message."""
    message: dict[str, Any] = ws.receive_json()
    assert message["type"] == "notification"
    return message["seq"], message["notification"]["notification_id"]


def test_a_live_notification_reaches_only_its_recipient_once(
    settings: Settings, grid: Grid, client: TestClient
) -> None:
    alice = add_user(settings, "worker", grid.cells[0].id)
    bob = add_user(settings, "worker", grid.cells[1].id)
    first, again, for_bob = note(alice.id), note(alice.id), note(bob.id)
    with (
        client.websocket_connect(f"/v1/ws?token={token(settings, alice)}") as ws_a,
        client.websocket_connect(f"/v1/ws?token={token(settings, bob)}") as ws_b,
    ):
        push(client, first)
        push(client, first)  # a replay: never twice on one socket
        push(client, again)
        push(client, for_bob)
        assert received(ws_a) == (None, first.notification_id)
        assert received(ws_a) == (None, again.notification_id)
        # Bob's first message is his own: Alice's never reached his socket.
        assert received(ws_b) == (None, for_bob.notification_id)
    store(settings, first)
    assert deliveries(settings, first.notification_id) == {"websocket": "sent"}


def test_a_bad_token_is_refused(client: TestClient) -> None:
    with (
        client.websocket_connect("/v1/ws?token=not-a-token") as ws,
        pytest.raises(WebSocketDisconnect) as refused,
    ):
        ws.receive_json()
    assert refused.value.code == 4401


def test_a_socket_is_closed_when_its_token_runs_out(
    settings: Settings, grid: Grid, client: TestClient
) -> None:
    user = add_user(settings, "worker", grid.cells[3].id)
    key = signing_key(settings.auth, settings.run_dir)
    # Issued so that it runs out ten seconds from now (exp is whole seconds: nine at least),
    # time enough for the push below on a busy machine.
    lifetime = timedelta(minutes=settings.auth.access_token_minutes)
    issued = datetime.now(UTC) - lifetime + timedelta(seconds=10)
    short = issue_access(user, auth=settings.auth, key=key, now=issued).token
    first = note(user.id)
    # Later than the expiry: a socket still open then would carry it instead of closing.
    late = threading.Timer(13, push, args=(client, note(user.id)))
    with client.websocket_connect(f"/v1/ws?token={short}") as ws:
        push(client, first)
        assert received(ws) == (None, first.notification_id)  # open while the token holds
        late.start()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    late.join()
    assert closed.value.code == 4401
    assert "expired" in closed.value.reason


def test_reconnecting_with_since_sends_the_missed_ones_once(
    settings: Settings, grid: Grid, client: TestClient
) -> None:
    user = add_user(settings, "worker", grid.cells[2].id)
    seen, missed_1, missed_2, later = (note(user.id) for _ in range(4))
    seqs = store(settings, seen, missed_1, missed_2)
    url = f"/v1/ws?token={token(settings, user)}&since={seqs[0]}"
    with client.websocket_connect(url) as ws:
        assert received(ws) == (seqs[1], missed_1.notification_id)
        assert received(ws) == (seqs[2], missed_2.notification_id)
        push(client, missed_2)  # the live copy of one the backlog already carried
        push(client, later)
        assert received(ws) == (None, later.notification_id)


def test_catch_up_and_ack(settings: Settings, grid: Grid, client: TestClient) -> None:
    user = add_user(settings, "worker", grid.cells[3].id)
    other = add_user(settings, "worker", grid.cells[3].id)
    one, two, theirs = note(user.id), note(user.id), note(other.id)
    seqs = store(settings, one, two, theirs)
    headers = bearer(settings, user)
    page = client.get("/v1/me/notifications", params={"since": 0}, headers=headers).json()
    mine = [(i["seq"], i["notification"]["notification_id"]) for i in page["items"]]
    assert mine[-2:] == [(seqs[0], one.notification_id), (seqs[1], two.notification_id)]
    assert page["next"] == seqs[1]
    after = client.get("/v1/me/notifications", params={"since": seqs[0]}, headers=headers)
    assert [i["seq"] for i in after.json()["items"]] == [seqs[1]]

    for _ in range(2):  # idempotent
        acked = client.post(f"/v1/me/notifications/{one.notification_id}/ack", headers=headers)
        assert acked.status_code == 200, acked.text
        assert acked.json() == {"notification_id": one.notification_id, "state": "acked"}
    assert deliveries(settings, one.notification_id) == {"app": "acked"}
    page = client.get("/v1/me/notifications", params={"since": 0}, headers=headers).json()
    assert one.notification_id not in {i["notification"]["notification_id"] for i in page["items"]}

    refused = client.post(f"/v1/me/notifications/{theirs.notification_id}/ack", headers=headers)
    assert refused.status_code == 404
    assert refused.json()["detail"][0]["code"] == "not_found"


def test_an_ack_that_beats_the_queue_writer_waits_for_it(
    settings: Settings, grid: Grid, client: TestClient
) -> None:
    user = add_user(settings, "worker", grid.cells[3].id)
    early = note(user.id)
    # The live push reached the phone first; the queue writer stores it a moment later.
    storing = threading.Timer(0.6, store, args=(settings, early))
    storing.start()
    try:
        acked = client.post(
            f"/v1/me/notifications/{early.notification_id}/ack", headers=bearer(settings, user)
        )
    finally:
        storing.join()
    assert acked.status_code == 200, acked.text
    assert deliveries(settings, early.notification_id) == {"app": "acked"}


def test_a_phone_back_with_the_last_seq_it_saw_gets_only_what_it_missed(
    settings: Settings, grid: Grid, client: TestClient
) -> None:
    user = add_user(settings, "worker", grid.cells[4].id)
    url = f"/v1/ws?token={token(settings, user)}"
    live = [note(user.id) for _ in range(3)]
    gap, missed = note(user.id), note(user.id)
    with client.websocket_connect(f"{url}&since=0") as ws:
        for n in live:
            [seq] = store(settings, n)
            push(client, n)
            assert received(ws) == (seq, n.notification_id)  # live, with its cursor
        # Stored but never pushed here (it reached the feed before the socket was attached):
        # it goes out before a later live one, or the phone's cursor would jump past it.
        [gap_seq] = store(settings, gap)
        later = note(user.id)
        [later_seq] = store(settings, later)
        push(client, later)
        assert received(ws) == (gap_seq, gap.notification_id)
        assert received(ws) == (later_seq, later.notification_id)
    [missed_seq] = store(settings, missed)
    marker = note(user.id)
    with client.websocket_connect(f"{url}&since={later_seq}") as ws:
        assert received(ws) == (missed_seq, missed.notification_id)
        push(client, live[-1])  # a replay of one it saw: its seq is behind the cursor
        push(client, marker)  # not stored yet: it goes without a seq
        assert received(ws) == (None, marker.notification_id)  # nothing before it came twice


def remind(settings: Settings, grid: Grid, sink: KafkaSink, found: list[Any]) -> list[Notification]:
    """The dispatcher's reminders of new incidents, ten minutes into a twenty-minute window."""
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        record_detections(conn, found)
    ids = [item.incident_id for item in found]

    async def dispatch_and_tick() -> None:
        conninfo = settings.postgres.conninfo()
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            dispatcher = Dispatcher(settings, conn=conn, sink=sink, grid=grid)
            for item in found:
                assert await dispatcher.dispatch(item, datetime.now(UTC))
            await conn.execute(
                "UPDATE incident_deadlines SET started_at = now() - interval '10 minutes',"
                " due_at = now() + interval '10 minutes' WHERE incident_id = ANY(%s)"
                " AND done_at IS NULL",
                (ids,),
            )
            await dispatcher.tick(datetime.now(UTC))

    asyncio.run(dispatch_and_tick())
    records = read_topic(
        settings,
        "notifications",
        lambda r: b'"kind":"reminder"' in r.value and any(i.encode() in r.value for i in ids),
        count=len(ids),
        timeout=30,
    )
    return [Notification.model_validate_json(r.value) for r in records]


def accept(settings: Settings, incident: str, worker: User) -> None:
    """The worker accepts the incident, as the API's accept does."""

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(settings.postgres.conninfo()) as conn:
            await apply_command(
                conn,
                incident,
                Accept(actor=Actor(id=worker.id, role="worker")),
                at=datetime.now(UTC),
                sla_cfg=settings.sla,
                guard=lambda _locked: None,
            )

    asyncio.run(run())


def test_a_reminder_the_incident_no_longer_owes_is_not_delivered(
    settings: Settings, grid: Grid, client: TestClient, sink: KafkaSink
) -> None:
    ensure_topics(settings.kafka)
    worker = staff_on_duty(settings, grid, grid.cells[REMINDED_CELL])["worker"]
    accepted, waiting = (detection(grid, REMINDED_CELL, Severity.CRITICAL) for _ in range(2))
    reminders = {n.incident_id: n for n in remind(settings, grid, sink, [accepted, waiting])}
    stale, owed = reminders[accepted.incident_id], reminders[waiting.incident_id]
    assert stale.recipient == owed.recipient == worker.id
    accept(settings, accepted.incident_id, worker)  # while its reminder is on its way

    url = f"/v1/ws?token={token(settings, worker)}"
    with client.websocket_connect(url) as ws:
        push(client, stale)  # reaching the hub late, before the queue writer stored it
        push(client, owed)
        assert received(ws) == (None, owed.notification_id)
    owed_seq = store(settings, stale, owed)[-1]
    headers = bearer(settings, worker)
    page = client.get("/v1/me/notifications", params={"since": 0}, headers=headers).json()
    assert [i["notification"]["notification_id"] for i in page["items"]] == [owed.notification_id]
    marker = note(worker.id)
    with client.websocket_connect(f"{url}&since=0") as ws:
        assert received(ws) == (owed_seq, owed.notification_id)
        push(client, marker)
        assert received(ws) == (None, marker.notification_id)  # the stale one never came

    async def relay_both(url: str) -> None:
        async def on_the_topic() -> AsyncGenerator[Notification, None]:
            for n in (stale, owed):
                yield n

        notify = NotifySettings(webhook_url=url, webhook_secret=SecretStr("k"))
        conninfo = settings.postgres.conninfo()
        async with httpx.AsyncClient() as http, AsyncConnectionPool(conninfo, open=False) as pool:
            await relay(
                on_the_topic(), WebhookNotifier(notify, client=http), pool=pool, max_age_s=60
            )

    with gateway([]) as (gateway_url, got):
        asyncio.run(relay_both(gateway_url))
    assert [json.loads(body)["notification_id"] for body, _ in got] == [owed.notification_id]
    assert deliveries(settings, stale.notification_id) == {}


class _Gateway(BaseHTTPRequestHandler):
    """A gateway that fails the first request with a 500 and keeps what it was sent."""

    statuses: list[int]
    got: list[tuple[bytes, dict[str, str]]]

    def do_POST(self) -> None:
        """Keep the body and the headers (names in lower case); answer the next status."""
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.got.append((body, {k.lower(): v for k, v in self.headers.items()}))
        self.send_response(self.statuses.pop(0) if self.statuses else 200)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        """Quiet."""


@contextmanager
def gateway(statuses: list[int]) -> Iterator[tuple[str, list[tuple[bytes, dict[str, str]]]]]:
    """A gateway on 127.0.0.1 answering `statuses`, then 200: its URL and what it got."""
    got: list[tuple[bytes, dict[str, str]]] = []
    handler = type("Gateway", (_Gateway,), {"statuses": statuses, "got": got})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/sms", got
    finally:
        server.shutdown()
        server.server_close()


def test_the_webhook_signs_and_retries_after_a_500() -> None:
    n = note("u-somebody")

    async def send(url: str) -> tuple[str, str]:
        settings = NotifySettings(
            webhook_url=url, webhook_secret=SecretStr("gateway key"), backoff_s=0.01
        )
        async with httpx.AsyncClient() as http:
            result = await WebhookNotifier(settings, client=http).deliver(n)
        return result.state, result.detail

    with gateway([500]) as (url, got):
        assert asyncio.run(send(url)) == ("delivered", "HTTP 200")
    assert len(got) == 2
    body, headers = got[1]
    assert hmac.compare_digest(headers[SIGNATURE_HEADER.lower()], signature(b"gateway key", body))
    assert json.loads(body)["notification_id"] == n.notification_id


@dataclass
class NotificationLog:
    """Where notifications are written, and the API feed that reads them."""

    sink: RecordSink
    stream: NotificationStream


@pytest.fixture(params=["kafka", "embedded"])
def notification_log(
    request: pytest.FixtureRequest, settings: Settings, sink: KafkaSink, tmp_path: Path
) -> Iterator[NotificationLog]:
    """Kafka (the distributed mode) or the embedded log of `gridwatch run`."""
    if request.param == "kafka":
        ensure_topics(settings.kafka)
        yield NotificationLog(sink, kafka_notifications(settings.kafka))
        return
    log = LocalLog(tmp_path / "log", partitions=settings.kafka.partitions)
    topic = settings.kafka.topic("notifications")
    yield NotificationLog(LocalSink(log), source_notifications(local_sources(log), topic))
    log.close()


def publish(log: NotificationLog, n: Notification, topic: str) -> None:
    """Write `n` to the notifications topic, keyed by its recipient, as the dispatcher does."""
    value = n.model_dump_json(by_alias=True).encode()
    log.sink.send(topic, n.recipient.encode(), value, lambda _exc: None)
    log.sink.flush(timeout_s=10)


async def first_pushed(log: NotificationLog, topic: str, socket: Connection, to: str) -> None:
    """The feed starts at the end of the topic: publish until one reaches the socket."""
    for attempt in range(60):
        publish(log, note(to, f"probe-{attempt}"), topic)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(socket.inbox.get(), timeout=1.0)
            return
    pytest.fail("the feed never pushed a notification")


def feed_to(settings: Settings, log: NotificationLog, url: str) -> Feed:
    """An API replica's feed from `log`, relaying to the webhook at `url`."""
    notify = NotifySettings(webhook_url=url, webhook_secret=SecretStr("k"))
    return notification_feed(settings.model_copy(update={"notify": notify}), log.stream)


async def relayed(settings: Settings, ids: list[str]) -> None:
    """Wait until the webhook relay recorded a delivery of each of `ids`."""
    for _ in range(300):
        found = [await asyncio.to_thread(deliveries, settings, nid) for nid in ids]
        if all("webhook" in states for states in found):
            return
        await asyncio.sleep(0.1)
    pytest.fail("the webhook relay recorded no delivery")


async def drained(socket: Connection, last: str) -> list[str]:
    """The ids queued for a socket, up to and including `last`."""
    ids: list[str] = []
    while not ids or ids[-1] != last:
        n = await asyncio.wait_for(socket.inbox.get(), timeout=30)
        ids.append(n.notification_id)
    return ids


def test_the_feed_fills_sockets_and_the_webhook_once(
    settings: Settings, notification_log: NotificationLog
) -> None:
    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        migrate(conn)
    recipient = f"u-{uuid.uuid4().hex[:8]}"
    topic = settings.kafka.topic("notifications")

    async def scenario(url: str) -> tuple[Notification, dict[str, str]]:
        hub = Hub()
        async with AsyncConnectionPool(settings.postgres.conninfo(), open=False) as pool:
            running = asyncio.create_task(feed_to(settings, notification_log, url)(hub, pool))
            try:
                socket = hub.attach(recipient)
                await first_pushed(notification_log, topic, socket, recipient)
                pushed = note(recipient, "pushed")
                publish(notification_log, pushed, topic)
                await drained(socket, pushed.notification_id)
                await relayed(settings, [pushed.notification_id])
                return pushed, deliveries(settings, pushed.notification_id)
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running

    async def restarted(url: str) -> None:
        """A feed started again (the API restarted) relays on from its group's position."""
        hub = Hub()
        async with AsyncConnectionPool(settings.postgres.conninfo(), open=False) as pool:
            running = asyncio.create_task(feed_to(settings, notification_log, url)(hub, pool))
            try:
                marker = note(recipient, "after-restart")
                publish(notification_log, marker, topic)
                await relayed(settings, [marker.notification_id])
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running

    with gateway([]) as (url, got):
        pushed, recorded = asyncio.run(scenario(url))
        asyncio.run(restarted(url))
    assert recorded == {"webhook": "delivered"}
    sent = [json.loads(body)["notification_id"] for body, _ in got]
    assert sent.count(pushed.notification_id) == 1  # not again after the restart


def test_two_replicas_each_serve_their_own_phone_once(settings: Settings, sink: KafkaSink) -> None:
    # Kafka only: replicas are the distributed mode; `gridwatch run` is one process.
    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        migrate(conn)
    ensure_topics(settings.kafka)
    notification_log = NotificationLog(sink, kafka_notifications(settings.kafka))
    alice, bob = (f"u-{uuid.uuid4().hex[:8]}" for _ in range(2))
    topic = settings.kafka.topic("notifications")
    sent = {who: [note(who, f"batch-{i}") for i in range(3)] for who in (alice, bob)}
    ours = {n.notification_id for items in sent.values() for n in items}

    async def scenario(url: str) -> dict[str, list[str]]:
        # Two API replicas: each its own hub and live feed, one webhook group between them.
        hubs = (Hub(), Hub())
        async with AsyncConnectionPool(settings.postgres.conninfo(), open=False) as pool:
            feeds = [
                asyncio.create_task(feed_to(settings, notification_log, url)(hub, pool))
                for hub in hubs
            ]
            try:
                # Alice's phone is connected to the first replica, Bob's to the second.
                sockets = {alice: hubs[0].attach(alice), bob: hubs[1].attach(bob)}
                for who, socket in sockets.items():
                    await first_pushed(notification_log, topic, socket, who)
                for n in sent[alice] + sent[bob]:
                    publish(notification_log, n, topic)
                got = {
                    who: [
                        i for i in await drained(socket, sent[who][-1].notification_id) if i in ours
                    ]
                    for who, socket in sockets.items()
                }
                await relayed(settings, sorted(ours))
                return got
            finally:
                for running in feeds:
                    running.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await running

    with gateway([]) as (url, posted):
        got = asyncio.run(scenario(url))
    for who, items in sent.items():
        assert got[who] == [n.notification_id for n in items]  # each once, in order, only hers
    posted_ids = [json.loads(body)["notification_id"] for body, _ in posted]
    assert sorted(i for i in posted_ids if i in ours) == sorted(ours)  # once per deployment


def test_the_queue_writer_stores_each_notification_once(
    settings: Settings, sink: KafkaSink
) -> None:
    ensure_topics(settings.kafka)
    n = note(f"u-{uuid.uuid4().hex[:8]}")
    topic = settings.kafka.topic("notifications")
    failures: list[BaseException] = []
    for _ in range(2):  # the dispatcher retrying after a crash publishes the same id again
        sink.send(
            topic,
            n.recipient.encode(),
            n.model_dump_json(by_alias=True).encode(),
            lambda exc: failures.append(exc) if exc else None,
        )
    sink.flush(timeout_s=30)
    assert not failures
    records = read_topic(
        settings, "notifications", lambda r: r.key == n.recipient.encode(), count=2
    )
    assert len(records) == 2
    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        writer = QueueWriter(settings, conn=conn, sink=sink)
        writer.handle(records)
        writer.handle(records)  # a replay after a crash before the offset commit
        rows = conn.execute(
            "SELECT recipient, kind, payload->>'title' FROM notifications"
            " WHERE notification_id = %s",
            (n.notification_id,),
        ).fetchall()
    assert rows == [(n.recipient, "assigned", n.title)]


def b64url(data: bytes) -> str:
    """Unpadded base64url, as Web Push writes keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def subscribe(
    settings: Settings, notify: NotifySettings, grid: Grid, user: User, subscription: dict[str, Any]
) -> None:
    """Store a browser's push subscription through an API with these notify settings."""
    app = create_app(settings.model_copy(update={"notify": notify}), grid=grid)
    with TestClient(app) as api:
        answer = api.post(
            "/v1/me/push-subscriptions", json=subscription, headers=bearer(settings, user)
        )
    assert answer.status_code == 204, answer.text


async def web_push(
    settings: Settings, notify: NotifySettings, *notes: Notification
) -> list[DeliveryResult]:
    """Each notification through the Web Push relay, in order."""
    async with AsyncConnectionPool(settings.postgres.conninfo(), open=False) as pool:
        notifier = WebPushNotifier(notify, pool=pool)
        return [await notifier.deliver(n) for n in notes]


def test_web_push_is_signed_encrypted_and_forgets_gone_subscriptions(
    settings: Settings, grid: Grid, client: TestClient
) -> None:
    user = add_user(settings, "worker", grid.cells[4].id)
    browser = ec.generate_private_key(ec.SECP256R1())
    p256dh = browser.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    auth = os.urandom(16)
    vapid = ec.generate_private_key(ec.SECP256R1())
    vapid_key = b64url(vapid.private_numbers().private_value.to_bytes(32, "big"))
    notify = NotifySettings(
        vapid_private_key=SecretStr(vapid_key), vapid_subject="mailto:ops@example.org"
    )
    first, second = note(user.id), note(user.id)
    assert client.get("/v1/push/vapid-key").status_code == 503  # this app has no key

    with gateway([201, 410]) as (url, got):
        subscription = {"endpoint": url, "keys": {"p256dh": b64url(p256dh), "auth": b64url(auth)}}
        # The test's push service is a local origin: API and relay must be told to allow it.
        hosts = {"push_hosts": (url.removesuffix("/sms"),)}
        subscribe(settings, settings.notify.model_copy(update=hosts), grid, user, subscription)
        results = asyncio.run(web_push(settings, notify.model_copy(update=hosts), first, second))
    assert [(r.state, r.detail) for r in results] == [("delivered", "[201]"), ("failed", "[410]")]
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        left = conn.execute(
            "SELECT count(*) FROM push_subscriptions WHERE account_id = %s", (user.id,)
        ).fetchone()
    assert left == (0,)  # the push service said 410: gone

    body, headers = got[0]
    assert headers["content-encoding"] == "aes128gcm"
    plain = http_ece.decrypt(body, private_key=browser, auth_secret=auth, version="aes128gcm")
    assert Notification.model_validate_json(plain) == first
    match = re.fullmatch(r"vapid t=([^,]+),\s*k=(\S+)", headers["authorization"])
    assert match is not None
    assert match.group(2) == application_server_key(vapid_key)
    claims = jwt.decode(
        match.group(1),
        key=vapid.public_key(),
        algorithms=["ES256"],
        audience=url.removesuffix("/sms"),
    )
    assert claims["sub"] == "mailto:ops@example.org"


def test_web_push_never_posts_to_a_stored_subscription_the_allowlist_no_longer_names(
    settings: Settings, grid: Grid
) -> None:
    user = add_user(settings, "worker", grid.cells[4].id)
    browser = ec.generate_private_key(ec.SECP256R1())
    p256dh = browser.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    vapid = ec.generate_private_key(ec.SECP256R1())
    notify = NotifySettings(
        vapid_private_key=SecretStr(
            b64url(vapid.private_numbers().private_value.to_bytes(32, "big"))
        ),
        vapid_subject="mailto:ops@example.org",
    )
    with gateway([201]) as (url, got):
        keys = {"p256dh": b64url(p256dh), "auth": b64url(os.urandom(16))}
        hosts = {"push_hosts": (url.removesuffix("/sms"),)}
        subscribe(
            settings, notify.model_copy(update=hosts), grid, user, {"endpoint": url, "keys": keys}
        )
        # The relay runs with the default list: browsers' push services only.
        [result] = asyncio.run(web_push(settings, notify, note(user.id)))
    assert (result.state, result.detail, got) == ("failed", "no push subscription", [])
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        left = conn.execute(
            "SELECT count(*) FROM push_subscriptions WHERE account_id = %s", (user.id,)
        ).fetchone()
    assert left == (0,)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8000/v1/incidents",
        "https://169.254.169.254/latest/meta-data",
        "http://fcm.googleapis.com/fcm/send/abc",
        "https://fcm.googleapis.com.example.org/fcm/send/abc",
    ],
)
def test_a_subscription_to_anything_but_a_push_service_is_refused(
    settings: Settings, grid: Grid, client: TestClient, endpoint: str
) -> None:
    user = add_user(settings, "worker", grid.cells[5].id)
    subscription = {"endpoint": endpoint, "keys": {"p256dh": "BNcR", "auth": "tBHI"}}
    answer = client.post(
        "/v1/me/push-subscriptions", json=subscription, headers=bearer(settings, user)
    )
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["code"] == "push_endpoint_not_allowed"
    assert "notify.push_hosts" in error["msg"]
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        kept = conn.execute(
            "SELECT count(*) FROM push_subscriptions WHERE account_id = %s", (user.id,)
        ).fetchone()
    assert kept == (0,)


def test_a_subscription_to_a_browser_push_service_is_kept(
    settings: Settings, grid: Grid, client: TestClient
) -> None:
    user = add_user(settings, "worker", grid.cells[6].id)
    endpoint = f"https://fcm.googleapis.com/fcm/send/{uuid.uuid4().hex}"
    subscription = {"endpoint": endpoint, "keys": {"p256dh": "BNcR", "auth": "tBHI"}}
    answer = client.post(
        "/v1/me/push-subscriptions", json=subscription, headers=bearer(settings, user)
    )
    assert answer.status_code == 204, answer.text
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        kept = conn.execute(
            "SELECT endpoint FROM push_subscriptions WHERE account_id = %s", (user.id,)
        ).fetchall()
    assert kept == [(endpoint,)]


def test_a_browser_signing_out_forgets_only_its_own_subscription(
    settings: Settings, grid: Grid
) -> None:
    me, other = (add_user(settings, "worker", grid.cells[4].id) for _ in range(2))
    keys = {"p256dh": b64url(os.urandom(65)), "auth": b64url(os.urandom(16))}
    mine, theirs = (f"https://fcm.googleapis.com/fcm/send/{uuid.uuid4().hex}" for _ in range(2))
    subscribe(settings, settings.notify, grid, me, {"endpoint": mine, "keys": keys})
    subscribe(settings, settings.notify, grid, other, {"endpoint": theirs, "keys": keys})
    with TestClient(create_app(settings, grid=grid)) as api:

        def forget(endpoint: str) -> int:
            answer: httpx.Response = api.request(
                "DELETE",
                "/v1/me/push-subscriptions",
                json={"endpoint": endpoint},
                headers=bearer(settings, me),
            )
            return answer.status_code

        assert (forget(theirs), forget(mine), forget(mine)) == (404, 204, 404)
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        left = conn.execute(
            "SELECT account_id FROM push_subscriptions WHERE endpoint = ANY(%s)", ([mine, theirs],)
        ).fetchall()
    assert left == [(other.id,)]
