"""Answers kept for a while and computed one at a time."""

from __future__ import annotations

import asyncio

import pytest

from api.answer_cache import AnswerCache


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Counter:
    """A computation that counts its calls and yields once, like a query would."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        await asyncio.sleep(0)
        return self.calls


def test_an_answer_is_kept_until_it_is_ttl_old() -> None:
    clock, compute = Clock(), Counter()
    cache: AnswerCache[str, int] = AnswerCache(ttl_s=60, size=4, clock=clock)

    async def ask() -> int:
        return await cache.get("page", compute)

    assert asyncio.run(ask()) == 1
    clock.now = 59.9
    assert asyncio.run(ask()) == 1
    clock.now = 60.0
    assert asyncio.run(ask()) == 2


def test_callers_asking_at_once_compute_once() -> None:
    compute = Counter()

    async def crowd() -> list[int]:
        cache: AnswerCache[str, int] = AnswerCache(ttl_s=60, size=4, clock=Clock())
        return await asyncio.gather(*(cache.get("page", compute) for _ in range(5)))

    assert asyncio.run(crowd()) == [1] * 5
    assert compute.calls == 1


def test_different_questions_are_computed_one_at_a_time() -> None:
    running = 0
    most = 0

    async def slow() -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001)
        running -= 1
        return most

    async def crowd() -> None:
        cache: AnswerCache[int, int] = AnswerCache(ttl_s=60, size=8, clock=Clock())
        await asyncio.gather(*(cache.get(key, slow) for key in range(4)))

    asyncio.run(crowd())
    assert most == 1


def test_the_oldest_answer_goes_past_the_size() -> None:
    compute = Counter()

    async def run() -> list[int]:
        cache: AnswerCache[str, int] = AnswerCache(ttl_s=60, size=2, clock=Clock())
        for key in ("a", "b", "c"):
            await cache.get(key, compute)
        return [await cache.get(key, compute) for key in ("c", "b", "a")]

    # c and b are kept; a was dropped and is computed again.
    assert asyncio.run(run()) == [3, 2, 4]


@pytest.mark.parametrize(("ttl_s", "size"), [(0, 1), (1, 0)])
def test_a_cache_that_keeps_nothing_is_refused(ttl_s: float, size: int) -> None:
    with pytest.raises(ValueError, match="ttl_s must be positive"):
        AnswerCache(ttl_s=ttl_s, size=size)
