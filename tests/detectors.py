"""Helpers for detector tests: route support events into one small-grid cell."""

from __future__ import annotations

from typing import Any

from gridwatch.records import RoutedEvent
from ingest.validate import route_message
from tests.support import T0, event, payload, small_grid

GRID = small_grid()


def routed(type_: str, **kw: Any) -> RoutedEvent:
    """A routed event of `type_` built with tests.support.event (default cell: west)."""
    device = kw.get("device", "cam-0042")
    source = type_.split(".")[0]
    result = route_message(
        f"gridwatch/v1/{source}/{device}/events",
        payload(event(type_, **kw)),
        grid=GRID,
        received_at=T0,
    )
    assert isinstance(result, RoutedEvent), result
    return result
