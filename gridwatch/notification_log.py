"""Reading `gridwatch.notifications` with aiokafka, and relaying it to a channel."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import Literal

from aiokafka import AIOKafkaConsumer  # type: ignore[import-untyped]
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError

from gridwatch.notifications import Notification
from gridwatch.ports import Notifier
from gridwatch.settings import KafkaSettings
from gridwatch.store.notifications import record_delivery

log = logging.getLogger(__name__)


async def consume(
    kafka: KafkaSettings,
    *,
    group_id: str | None,
    start: Literal["earliest", "latest"],
    commit: bool,
) -> AsyncGenerator[Notification, None]:
    """Notifications as they come; with `commit` (and a group), each offset once handled."""
    if commit and group_id is None:
        raise ValueError("committing offsets needs a consumer group")
    consumer = AIOKafkaConsumer(
        kafka.topic("notifications"),
        bootstrap_servers=kafka.bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset=start,
    )
    await consumer.start()
    try:
        async for record in consumer:
            try:
                yield Notification.model_validate_json(record.value)
            except ValidationError as exc:
                log.error("skipping a bad notification at offset %d: %s", record.offset, exc)
                continue
            if commit:
                # After the caller is done with it: a crash before this delivers it again.
                await consumer.commit()
    finally:
        await consumer.stop()


async def relay(
    kafka: KafkaSettings,
    notifier: Notifier,
    *,
    group_id: str,
    pool: AsyncConnectionPool,
    max_age_s: int,
) -> None:
    """Each notification to `notifier` once per deployment (one shared group), recorded."""
    max_age = timedelta(seconds=max_age_s)
    stream = consume(kafka, group_id=group_id, start="earliest", commit=True)
    async with contextlib.aclosing(stream) as notifications:
        async for n in notifications:
            # Old news by text message or push helps nobody: the dispatcher's reminders follow.
            if datetime.now(UTC) - n.created_at <= max_age:
                result = await notifier.deliver(n)
                async with pool.connection() as conn:
                    await record_delivery(conn, n.notification_id, result)
