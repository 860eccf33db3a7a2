"""Helpers for detector tests: route support events into one small-grid cell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gridwatch.events import SOURCE_PREFIX
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


FIXTURES = Path(__file__).parent / "fixtures" / "events"


def recorded(type_: str, name: str) -> list[RoutedEvent]:
    """A recorded scenario (a JSON array of v1 CloudEvents), routed as the bridge would."""
    out: list[RoutedEvent] = []
    for doc in json.loads((FIXTURES / type_ / f"{name}.json").read_text()):
        device = doc["source"].removeprefix(SOURCE_PREFIX)
        topic = f"gridwatch/v1/{type_.split('.')[0]}/{device}/events"
        result = route_message(topic, payload(doc), grid=GRID, received_at=T0)
        assert isinstance(result, RoutedEvent), result
        out.append(result)
    return out
