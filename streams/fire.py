"""The fire and smoke detector: a pure step over one grid cell's state."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridwatch.incidents import Evidence, IncidentCategory, IncidentDetected, Severity, incident_id
from gridwatch.records import RoutedEvent
from gridwatch.settings import DetectSettings

DETECTOR = "fire/1"
# Keys of events already handled are remembered this long (by event time) so a re-delivery,
# even after the incident's group has expired, is recognised and ignored.
DEDUPE_HORIZON = timedelta(hours=24)
DEDUPE_MAX = 1024


class OpenGroup(BaseModel):
    """An incident still taking evidence in this cell."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    incident_id: str
    opened_at: AwareDatetime
    last_seen: AwareDatetime


class CellState(BaseModel):
    """What the detector remembers about one grid cell (stored in a faust table as JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seen: dict[str, AwareDatetime] = Field(default_factory=dict)
    smoke: list[Evidence] = Field(default_factory=list)
    open: dict[str, OpenGroup] = Field(default_factory=dict)


def _evidence(routed: RoutedEvent) -> Evidence:
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


def _remember(seen: dict[str, datetime], key: str, at: datetime) -> dict[str, datetime]:
    horizon = max([at, *seen.values()]) - DEDUPE_HORIZON
    kept = {k: t for k, t in seen.items() if t >= horizon}
    kept[key] = at
    if len(kept) > DEDUPE_MAX:
        kept = dict(sorted(kept.items(), key=lambda kv: kv[1])[-DEDUPE_MAX:])
    return kept


def _detections(
    state: CellState,
    routed: RoutedEvent,
    category: IncidentCategory,
    found: list[Evidence],
    severity: Severity,
    cfg: DetectSettings,
) -> tuple[dict[str, OpenGroup], list[IncidentDetected]]:
    """Attach `found` to the open incident of `category`, or open one."""
    now = routed.event.time
    group = state.open.get(category)
    window = timedelta(seconds=cfg.group_window_s)
    if group is None or now - group.last_seen > window:
        opening = found[-1]
        group = OpenGroup(
            incident_id=incident_id(
                routed.cell_id, category, f"{opening.device_id}/{opening.event_id}"
            ),
            opened_at=min(e.time for e in found),
            last_seen=now,
        )
    else:
        group = group.model_copy(update={"last_seen": max(group.last_seen, now)})
    emitted = [
        IncidentDetected(
            incident_id=group.incident_id,
            cell_id=routed.cell_id,
            kind="hazard",
            category=category,
            severity=severity,
            detector=DETECTOR,
            opened_at=group.opened_at,
            evidence=evidence,
        )
        for evidence in found
    ]
    return {**state.open, category: group}, emitted


def step(
    state: CellState, routed: RoutedEvent, cfg: DetectSettings
) -> tuple[CellState, list[IncidentDetected]]:
    """Feed one routed event of a cell; return the new state and the incidents it yields."""
    event = routed.event
    if event.type not in ("blue-sky.fire", "blue-sky.smoke"):
        return state, []
    key = routed.dedupe_key
    if key in state.seen:
        return state, []
    seen = _remember(state.seen, key, event.time)
    evidence = _evidence(routed)

    if event.type == "blue-sky.fire":
        if evidence.confidence < cfg.fire_min_confidence:
            return state.model_copy(update={"seen": seen}), []
        opened, emitted = _detections(state, routed, "fire", [evidence], Severity.CRITICAL, cfg)
        return state.model_copy(update={"seen": seen, "open": opened}), emitted

    if evidence.confidence < cfg.smoke_min_confidence:
        return state.model_copy(update={"seen": seen}), []
    group = state.open.get("smoke")
    if group is not None and event.time - group.last_seen <= timedelta(seconds=cfg.group_window_s):
        # Smoke already confirmed here: every further sighting is evidence, no re-confirmation.
        opened, emitted = _detections(state, routed, "smoke", [evidence], Severity.HIGH, cfg)
        return state.model_copy(update={"seen": seen, "open": opened}), emitted

    window_start = event.time - timedelta(seconds=cfg.smoke_window_s)
    pending = sorted(
        [e for e in state.smoke if e.time >= window_start] + [evidence], key=lambda e: e.time
    )
    if len(pending) < cfg.smoke_confirmations:
        return state.model_copy(update={"seen": seen, "smoke": pending}), []
    opened, emitted = _detections(state, routed, "smoke", pending, Severity.HIGH, cfg)
    return state.model_copy(update={"seen": seen, "smoke": [], "open": opened}), emitted
