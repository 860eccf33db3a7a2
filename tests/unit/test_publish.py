"""Waiting in a request for the event log's acknowledgement, which arrives on another thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gridwatch.durable import AckTimeoutError, send_durably
from gridwatch.ports import Done


class ThreadedSink:
    """A log that answers from its own thread after `delay_s`, like Kafka's I/O thread."""

    def __init__(self, *, delay_s: float = 0.05, error: BaseException | None = None) -> None:
        self.delay_s = delay_s
        self.error = error
        self.records: list[tuple[str, bytes, bytes]] = []

    def send(self, topic: str, key: bytes, value: bytes, done: Done) -> None:
        def ack() -> None:
            self.records.append((topic, key, value))
            done(self.error)

        threading.Timer(self.delay_s, ack).start()

    def flush(self, timeout_s: float) -> None:
        """Nothing is buffered."""

    def close(self) -> None:
        """Nothing to release."""


class RefusingSink(ThreadedSink):
    """A log whose send itself raises (kafka-python when it cannot get topic metadata)."""

    def send(self, topic: str, key: bytes, value: bytes, done: Done) -> None:
        raise TimeoutError("Failed to update metadata after 1.0 secs.")


def test_returns_once_the_log_has_the_record() -> None:
    sink = ThreadedSink()
    asyncio.run(send_durably(sink, "t.events", b"cell", b"{}", timeout_s=5))
    assert sink.records == [("t.events", b"cell", b"{}")]


def test_the_logs_error_is_raised() -> None:
    sink = ThreadedSink(error=ConnectionError("broker gone"))
    with pytest.raises(ConnectionError, match="broker gone"):
        asyncio.run(send_durably(sink, "t.events", b"cell", b"{}", timeout_s=5))


def test_an_error_raised_by_send_itself_is_raised_even_a_timeout() -> None:
    with pytest.raises(TimeoutError, match="metadata") as raised:
        asyncio.run(send_durably(RefusingSink(), "t.events", b"cell", b"{}", timeout_s=5))
    assert not isinstance(raised.value, AckTimeoutError)


def test_a_late_ack_times_out_and_is_then_ignored() -> None:
    sink = ThreadedSink(delay_s=0.3, error=ConnectionError("too late to matter"))

    async def late() -> None:
        with pytest.raises(AckTimeoutError):
            await send_durably(sink, "t.events", b"cell", b"{}", timeout_s=0.05)
        # The loop is still running when the answer comes: it must be dropped quietly.
        await asyncio.sleep(0.5)

    asyncio.run(late())
    assert len(sink.records) == 1


def test_an_ack_after_the_loop_closed_is_dropped() -> None:
    sink = ThreadedSink(delay_s=0.2)
    with pytest.raises(AckTimeoutError):
        asyncio.run(send_durably(sink, "t.events", b"cell", b"{}", timeout_s=0.05))
    threading.Event().wait(0.4)  # the ack arrives on its thread, after the loop is gone
    assert len(sink.records) == 1
