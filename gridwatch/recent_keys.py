"""A memory of the most recent keys seen, bounded so a long-running process does not grow."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class RecentKeys(Generic[K]):
    """Remembers up to `size` keys; the oldest is forgotten first."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._size = size
        self._keys: OrderedDict[K, None] = OrderedDict()

    def first_time(self, key: K) -> bool:
        """Remember `key`; True unless it is still remembered from before."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return True

    def forget(self, key: K) -> None:
        """Drop `key`, so the next `first_time` for it is True again."""
        self._keys.pop(key, None)

    def __len__(self) -> int:
        return len(self._keys)
