"""What a detector knows about the cell it runs for, besides the events themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from gridwatch.findings import Finding, FindingAction
from gridwatch.incidents import Evidence, IncidentCategory, IncidentKind, Severity
from gridwatch.records import RoutedEvent

# A penalised device is never silenced outright: a detection this sure still counts.
MAX_CONFIDENCE_BAR = 0.95


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

    def min_confidence(self, device_id: str, base: float) -> float:
        """Confidence a device's single detection needs: rules that judge one detection alone
        cannot wait for more, so a penalised device must be surer instead (+0.1 a step)."""
        return min(MAX_CONFIDENCE_BAR, base + 0.1 * self.extra_confirmations.get(device_id, 0))


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


def finding(
    routed: RoutedEvent,
    *,
    detector: str,
    kind: IncidentKind,
    category: IncidentCategory,
    severity: Severity,
    note: str,
    action: FindingAction = "raise",
    evidence: list[Evidence] | None = None,
) -> Finding:
    """A finding about the camera of `routed`; a raise carries the event itself unless told."""
    if evidence is None:
        evidence = [evidence_of(routed)] if action == "raise" else []
    return Finding(
        action=action,
        detector=detector,
        kind=kind,
        category=category,
        severity=severity,
        cell_id=routed.cell_id,
        time=routed.event.time,
        lon=routed.lon,
        lat=routed.lat,
        opening_key=routed.dedupe_key,
        source_key=routed.device_id,
        evidence=evidence,
        note=note,
    )
