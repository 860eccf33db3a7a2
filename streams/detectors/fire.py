"""Fire at once; smoke once it persists on one camera or a second camera sees it too."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridwatch.detection_settings import FireSettings
from gridwatch.findings import Finding
from gridwatch.incidents import Evidence, Severity
from gridwatch.records import RoutedEvent
from streams.detectors.context import CellContext, evidence_of, finding

DETECTOR = "fire/1"
TYPES = frozenset({"blue-sky.fire", "blue-sky.smoke"})


class FireState(BaseModel):
    """Smoke sightings not yet confirmed, and when confirmed smoke was last seen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pending: list[Evidence] = Field(default_factory=list)
    confirmed_until: AwareDatetime | None = None


def _raise(
    routed: RoutedEvent,
    category: Literal["fire", "smoke"],
    severity: Severity,
    evidence: list[Evidence],
    note: str,
) -> Finding:
    return finding(
        routed,
        detector=DETECTOR,
        kind="hazard",
        category=category,
        severity=severity,
        note=note,
        evidence=evidence,
    )


def _corroborating_devices(pending: list[Evidence], ctx: CellContext) -> set[str]:
    # A camera serving a false-alarm penalty does not count as a second witness.
    return {e.device_id for e in pending if not ctx.extra_confirmations.get(e.device_id)}


def step(
    state: FireState, routed: RoutedEvent, ctx: CellContext, cfg: FireSettings
) -> tuple[FireState, list[Finding]]:
    """Raise fire on any confident fire detection; raise smoke once confirmed."""
    event = routed.event
    evidence = evidence_of(routed)
    if event.type == "blue-sky.fire":
        # Fire is raised on one detection, so a penalised camera must be surer instead.
        if evidence.confidence < ctx.min_confidence(routed.device_id, cfg.fire_min_confidence):
            return state, []
        note = f"fire seen by {routed.device_id} ({evidence.confidence:.0%})"
        return state, [_raise(routed, "fire", Severity.CRITICAL, [evidence], note)]

    if evidence.confidence < cfg.smoke_min_confidence:
        return state, []
    window = timedelta(seconds=cfg.smoke_window_s)
    if state.confirmed_until is not None and event.time <= state.confirmed_until:
        # Confirmed smoke is still being seen: each sighting is evidence at once.
        updated = state.model_copy(update={"confirmed_until": event.time + window})
        note = f"smoke still seen by {routed.device_id}"
        return updated, [_raise(routed, "smoke", Severity.HIGH, [evidence], note)]

    pending = sorted(
        [e for e in state.pending if e.time >= event.time - window] + [evidence],
        key=lambda e: e.time,
    )
    own = [e for e in pending if e.device_id == routed.device_id]
    persisted = len(own) >= ctx.confirmations(routed.device_id, cfg.smoke_confirmations)
    devices = _corroborating_devices(pending, ctx)
    corroborated = routed.device_id in devices and len(devices) >= cfg.smoke_devices
    if not (persisted or corroborated):
        return state.model_copy(update={"pending": pending}), []
    if corroborated:
        note = f"smoke seen by {len(devices)} cameras: {', '.join(sorted(devices))}"
        support = [e for e in pending if e.device_id in devices]
    else:
        note = f"smoke seen {len(own)} times by {routed.device_id}"
        support = own
    confirmed = FireState(pending=[], confirmed_until=event.time + window)
    return confirmed, [_raise(routed, "smoke", Severity.HIGH, support, note)]
