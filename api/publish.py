"""Sending a record from a request and waiting until the event log says it is durable."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from api.errors import ApiError
from gridwatch.ports import RecordSink

log = logging.getLogger(__name__)

# A person waits with the phone in hand: past this the API stops waiting for Kafka's ack.
ACK_TIMEOUT_S = 15.0


class AckTimeoutError(Exception):
    """The log neither confirmed nor refused the record in time; it may still arrive."""


async def send_durably(
    sink: RecordSink, topic: str, key: bytes, value: bytes, *, timeout_s: float
) -> None:
    """Return once the sink has the record; raise the sink's error, or AckTimeoutError."""
    loop = asyncio.get_running_loop()
    durable: asyncio.Future[None] = loop.create_future()

    def settle(exc: BaseException | None) -> None:
        if durable.done():  # given up on already (timeout): nobody waits for the answer
            return
        if exc is None:
            durable.set_result(None)
        else:
            durable.set_exception(exc)

    def done(exc: BaseException | None) -> None:
        # Called on the sink's I/O thread (or inside send itself): hand over to the loop.
        with contextlib.suppress(RuntimeError):  # the loop closed while Kafka took its time
            loop.call_soon_threadsafe(settle, exc)

    try:
        async with asyncio.timeout(timeout_s) as deadline:
            # send may block (kafka-python waits for topic metadata): keep it off the loop.
            await asyncio.to_thread(sink.send, topic, key, value, done)
            await durable
    except TimeoutError:
        if deadline.expired():
            raise AckTimeoutError(f"no answer from the log within {timeout_s:g} s") from None
        raise  # the sink's own timeout, which is a refusal
    finally:
        durable.cancel()


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
