"""The bounded memory of recent keys."""

import pytest

from gridwatch.recent_keys import RecentKeys


def test_a_key_is_new_only_the_first_time() -> None:
    keys: RecentKeys[str] = RecentKeys(3)
    assert keys.first_time("a")
    assert not keys.first_time("a")


def test_the_oldest_key_is_forgotten_past_the_size() -> None:
    keys: RecentKeys[int] = RecentKeys(2)
    for key in (1, 2, 3):
        assert keys.first_time(key)
    assert len(keys) == 2
    assert keys.first_time(1)
    assert not keys.first_time(3)


def test_a_forgotten_key_is_new_again() -> None:
    keys: RecentKeys[str] = RecentKeys(2)
    keys.first_time("a")
    keys.forget("a")
    keys.forget("never seen")
    assert keys.first_time("a")


def test_a_memory_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RecentKeys(0)
