"""What a detector knows about the cell it runs for, besides the events themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from gridwatch.incidents import Evidence
from gridwatch.records import RoutedEvent


@dataclass(frozen=True)
class CellContext:
    """Per-cell configuration and feedback, handed to every detector step."""

    cell_id: str
    # People the cell's public places hold before a crowd is a hazard (None: no crowd rule).
    capacity: int | None = None
    # Zone names whose intrusion is a hazard here (riverbank, reservoir, ...).
    watched_zones: frozenset[str] = field(default_factory=frozenset)
    # Extra confirmations each device needs after recent false alarms (false-alarm loop).
    extra_confirmations: dict[str, int] = field(default_factory=dict)

    def confirmations(self, device_id: str, base: int) -> int:
        """Detections a device needs before its finding is raised."""
        return base + self.extra_confirmations.get(device_id, 0)


def evidence_of(routed: RoutedEvent) -> Evidence:
    """The evidence record of one routed event."""
    event = routed.event
    return Evidence(
        device_id=routed.device_id,
        event_id=event.id,
        type=event.type,
        time=event.time,
        confidence=event.data.confidence,
        lon=routed.lon,
        lat=routed.lat,
        snapshot=event.data.snapshot,
    )
