"""In-order acknowledgement of MQTT messages whose Kafka writes complete out of order."""

from __future__ import annotations

import threading
from collections import OrderedDict


class AckWindow:
    """Releases message ids for PUBACK in the order they arrived, once each is durable.

    MQTT asks a client to acknowledge QoS 1 messages in the order received; Kafka completes
    writes to different partitions in any order. The window holds a finished message back
    until every message received before it has finished too. Thread-safe: the MQTT loop adds,
    the Kafka sender thread completes.
    """

    def __init__(self) -> None:
        self._pending: OrderedDict[int, bool] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, mid: int) -> None:
        """Note a received message that is not yet durable."""
        with self._lock:
            if mid in self._pending:
                # A broker redelivery of a message still in flight: it is acked when the first
                # copy completes, so the duplicate slot must not block the window.
                return
            self._pending[mid] = False

    def complete(self, mid: int) -> list[int]:
        """Mark a message durable; return the ids that may now be acknowledged, in order."""
        with self._lock:
            if mid not in self._pending:
                return []
            self._pending[mid] = True
            ready: list[int] = []
            while self._pending:
                first, done = next(iter(self._pending.items()))
                if not done:
                    break
                self._pending.popitem(last=False)
                ready.append(first)
            return ready

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)
