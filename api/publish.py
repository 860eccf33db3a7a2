"""Sending a record from a request: a failure of the log answered as a 503."""

from __future__ import annotations

import logging

from api.errors import ApiError
from gridwatch.durable import AckTimeoutError, send_durably
from gridwatch.ports import RecordSink

log = logging.getLogger(__name__)

# A person waits with the phone in hand: past this the API stops waiting for Kafka's ack.
ACK_TIMEOUT_S = 15.0


async def publish_or_503(
    sink: RecordSink, topic: str, key: bytes, value: bytes, *, what: str
) -> None:
    """`send_durably`, with a failure answered as a 503 that says whether it may still arrive."""
    try:
        await send_durably(sink, topic, key, value, timeout_s=ACK_TIMEOUT_S)
    except AckTimeoutError:
        log.warning("%s with key %r: no ack from %s in time", what, key, topic)
        raise ApiError(
            503,
            "event_log_timeout",
            f"the event log did not confirm the {what} within {ACK_TIMEOUT_S:.0f} s; "
            "it may still arrive, try again later",
        ) from None
    except Exception as exc:
        log.warning("%s with key %r: not taken by %s: %r", what, key, topic, exc)
        raise ApiError(
            503,
            "event_log_unavailable",
            f"the event log did not take the {what} ({type(exc).__name__}: {exc}); try again later",
        ) from None
