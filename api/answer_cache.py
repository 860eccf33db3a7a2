"""Answers kept for a while and computed one at a time: for endpoints anyone may call."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class AnswerCache(Generic[K, V]):
    """Up to `size` answers, each kept `ttl_s` seconds; a miss waits for any computation."""

    def __init__(
        self, *, ttl_s: float, size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl_s <= 0 or size < 1:
            raise ValueError("ttl_s must be positive and size at least 1")
        self._ttl_s = ttl_s
        self._size = size
        self._clock = clock
        self._answers: OrderedDict[K, tuple[float, V]] = OrderedDict()
        # One computation at a time: callers who vary their question to dodge the cache queue
        # behind each other instead of multiplying the work the database does.
        self._computing = asyncio.Lock()

    def _fresh(self, key: K) -> tuple[float, V] | None:
        """The kept (time, answer) of `key` if it is young enough."""
        kept = self._answers.get(key)
        if kept is None or self._clock() - kept[0] >= self._ttl_s:
            return None
        return kept

    async def get(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        """The kept answer to `key` while fresh, else a new one from `compute`."""
        kept = self._fresh(key)
        if kept is not None:
            return kept[1]
        async with self._computing:
            # Whoever held the lock before us may just have computed this very answer.
            kept = self._fresh(key)
            if kept is not None:
                return kept[1]
            answer = await compute()
            self._answers[key] = (self._clock(), answer)
            self._answers.move_to_end(key)
            if len(self._answers) > self._size:
                self._answers.popitem(last=False)
            return answer
