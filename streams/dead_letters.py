"""A record the stream processors cannot read becomes a dead letter naming why."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pydantic import ValidationError

from gridwatch.records import DeadLetter
from gridwatch.rejections import explain

log = logging.getLogger(__name__)


def unreadable(key: bytes, value: bytes, topic: str, exc: ValidationError) -> DeadLetter:
    """The dead letter of a record on `topic` that is not one gridwatch writes there."""
    letter = DeadLetter.of(
        code=explain(exc).code,
        reason=f"record is not one gridwatch writes here: {explain(exc).reason}",
        topic=topic,
        payload=value,
        received_at=datetime.now(UTC),
        rejected_by="streams",
    )
    log.error("dead-lettering record with key %r: %s", key, letter.reason)
    return letter
