"""Waiting, in asyncio, until the event log says a record is durable."""

from __future__ import annotations

import asyncio
import contextlib

from gridwatch.ports import RecordSink


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
