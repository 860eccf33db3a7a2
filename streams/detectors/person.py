"""Falls, fights and intrusions into watched zones: immediate, one finding per detection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from gridwatch.detection_settings import PersonSettings
from gridwatch.events import IntrusionEvent
from gridwatch.findings import Finding
from gridwatch.incidents import IncidentCategory, IncidentKind, Severity
from gridwatch.records import RoutedEvent
from streams.detectors.context import CellContext, finding


class PersonState(BaseModel):
    """Nothing: these rules judge each detection alone (kept so every detector steps alike)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class PersonRule:
    """How one event type becomes a finding."""

    detector: str
    kind: IncidentKind
    category: IncidentCategory
    severity: Severity
    min_confidence: Callable[[PersonSettings], float]
    what: str


RULES: dict[str, PersonRule] = {
    "sharp-eyes.fall": PersonRule(
        "fall/1", "hazard", "fall", Severity.HIGH, lambda c: c.fall_min_confidence, "a person fell"
    ),
    "sharp-eyes.fight": PersonRule(
        "fight/1",
        "dispute",
        "fight",
        Severity.HIGH,
        lambda c: c.fight_min_confidence,
        "people fighting",
    ),
    # Drowning risk: a person by deep water is the most urgent thing a camera can see.
    "sharp-eyes.intrusion": PersonRule(
        "intrusion/1",
        "hazard",
        "intrusion",
        Severity.CRITICAL,
        lambda c: c.intrusion_min_confidence,
        "in watched zone",
    ),
}
TYPES = frozenset(RULES)


def step(
    state: PersonState, routed: RoutedEvent, ctx: CellContext, cfg: PersonSettings
) -> tuple[PersonState, list[Finding]]:
    """Judge one fall, fight or intrusion detection; the state never changes."""
    event = routed.event
    rule = RULES.get(event.type)
    confidence = event.data.confidence
    if rule is None or confidence < ctx.min_confidence(routed.device_id, rule.min_confidence(cfg)):
        return state, []
    if not isinstance(event, IntrusionEvent):
        note = f"{rule.what} (confidence {confidence:.2f})"
    elif _watched_person(event, ctx, cfg):
        note = f"{', '.join(event.data.objects) or 'something'} {rule.what} {event.data.zone}"
    else:
        return state, []
    found = finding(
        routed,
        detector=rule.detector,
        kind=rule.kind,
        category=rule.category,
        severity=rule.severity,
        note=note,
    )
    return state, [found]


def _watched_person(event: IntrusionEvent, ctx: CellContext, cfg: PersonSettings) -> bool:
    # Vendors differ in case ("Riverbank", "Person"); names are compared case-folded.
    watched = {zone.casefold() for zone in (ctx.watched_zones or cfg.watched_zones)}
    objects = [name.casefold() for name in event.data.objects]
    # No objects means a camera that does not classify: anything in a watched zone counts.
    return event.data.zone.casefold() in watched and (not objects or "person" in objects)
