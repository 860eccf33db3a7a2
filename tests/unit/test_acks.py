"""The in-order acknowledgement window."""

from __future__ import annotations

from ingest.acks import AckWindow


def test_acks_are_released_in_arrival_order() -> None:
    window = AckWindow()
    for mid in (1, 2, 3):
        window.add(mid)
    assert window.complete(2) == []
    assert window.complete(3) == []
    assert window.complete(1) == [1, 2, 3]
    assert len(window) == 0


def test_unknown_and_repeated_completions_release_nothing() -> None:
    window = AckWindow()
    window.add(7)
    assert window.complete(8) == []
    assert window.complete(7) == [7]
    assert window.complete(7) == []


def test_a_redelivered_mid_in_flight_does_not_block_the_window() -> None:
    window = AckWindow()
    window.add(5)
    window.add(5)
    window.add(6)
    assert window.complete(5) == [5]
    assert window.complete(5) == []
    assert window.complete(6) == [6]
