"""Reading `gridwatch.notifications` (from Kafka or the embedded log), and relaying it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from kafka import OffsetAndMetadata
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from gridwatch.kafka_source import METADATA_MAX_AGE_MS
from gridwatch.notifications import Notification
from gridwatch.ports import Notifier, SourceFactory
from gridwatch.settings import KafkaSettings
from gridwatch.store.notifications import record_delivery, still_owed

log = logging.getLogger(__name__)
# group id → its notifications: None reads live from now on, committing nothing; a group reads
# from its first uncommitted record and commits each one once the caller is done with it.
NotificationStream = Callable[[str | None], AsyncGenerator[Notification, None]]


def _parsed(value: bytes, offset: int) -> Notification | None:
    """The notification in a record; None (logged, skipped) if it is not one."""
    try:
        return Notification.model_validate_json(value)
    except ValidationError as exc:
        log.error("skipping a bad notification at offset %d: %s", offset, exc)
        return None


def kafka_notifications(kafka: KafkaSettings) -> NotificationStream:
    """Notifications from Kafka, read with aiokafka (see NotificationStream)."""

    async def stream(group_id: str | None) -> AsyncGenerator[Notification, None]:
        consumer = AIOKafkaConsumer(
            kafka.topic("notifications"),
            bootstrap_servers=kafka.bootstrap,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="latest" if group_id is None else "earliest",
            metadata_max_age_ms=METADATA_MAX_AGE_MS,
        )
        await consumer.start()
        try:
            async for record in consumer:
                n = _parsed(record.value, record.offset)
                if n is None:
                    continue
                yield n
                if group_id is not None:
                    # After the caller is done with it: a crash before this delivers it again.
                    await consumer.commit()
        finally:
            await consumer.stop()

    return stream


def source_notifications(sources: SourceFactory, topic: str) -> NotificationStream:
    """Notifications through a `RecordSource` (the embedded log's), like kafka_notifications."""

    async def stream(group_id: str | None) -> AsyncGenerator[Notification, None]:
        source = sources([topic], group_id, group_id or "gridwatch-api", 500)
        try:
            while True:
                batches = await asyncio.to_thread(source.poll, 500)
                for tp, records in batches.items():
                    for record in records:
                        n = _parsed(record.value, record.offset)
                        if n is None:
                            continue
                        yield n
                        if group_id is not None:
                            done = {tp: OffsetAndMetadata(record.offset + 1, "", -1)}
                            await asyncio.to_thread(source.commit, done)
        finally:
            source.close()

    return stream


async def relay(
    notifications: AsyncGenerator[Notification, None],
    notifier: Notifier,
    *,
    pool: AsyncConnectionPool,
    max_age_s: int,
) -> None:
    """Each notification of a group's stream to `notifier`, its delivery recorded.

    Skipped: what is older than `max_age_s`, and a reminder the incident no longer owes (its
    clock finished, e.g. accepted, while the reminder waited on the topic).
    """
    max_age = timedelta(seconds=max_age_s)
    async with contextlib.aclosing(notifications) as stream:
        async for n in stream:
            # Old news by text message or push helps nobody: the dispatcher's reminders follow.
            if datetime.now(UTC) - n.created_at > max_age:
                continue
            async with pool.connection() as conn:
                owed = await still_owed(conn, n)
            if owed:
                result = await notifier.deliver(n)
                async with pool.connection() as conn:
                    await record_delivery(conn, n.notification_id, result)
