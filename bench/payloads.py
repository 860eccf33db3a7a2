"""The bench's events: valid v1 motion CloudEvents padded to 1 kB, spread over the grid."""

from __future__ import annotations

from collections.abc import Sequence

from gridwatch.grid.model import Cell
from tests.support import event, payload

PAYLOAD_BYTES = 1024
EVENT_TYPE = "sharp-eyes.motion"


def padded_event(cell: Cell, device: str, event_id: str, size: int) -> bytes:
    """A valid motion event at the cell's centroid, padded through `snapshot` to `size` bytes."""
    lon, lat = cell.centroid

    def build(snapshot: str) -> bytes:
        doc = event(EVENT_TYPE, device=device, event_id=event_id, lon=lon, lat=lat)
        doc["data"]["snapshot"] = snapshot
        return payload(doc)

    stem = "bench://snapshot/"
    room = size - len(build(stem))
    if room < 0:
        raise ValueError(f"an event is already {size - room} bytes; cannot pad it to {size}")
    return build(stem + "x" * room)


def build_events(cells: Sequence[Cell], device: str, tag: str, n: int) -> list[tuple[Cell, bytes]]:
    """`n` events with ids `{tag}-0000000`…, placed in the cells round-robin."""
    events = []
    for i in range(n):
        cell = cells[i % len(cells)]
        events.append((cell, padded_event(cell, device, f"{tag}-{i:07d}", PAYLOAD_BYTES)))
    return events
