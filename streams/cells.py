"""Stage one: one grid cell's detectors, fed that cell's events in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridwatch.detection_settings import DetectSettings, HealthSettings
from gridwatch.devices import AdjustmentRevoked, DeviceAdjusted, DeviceSeen
from gridwatch.findings import Finding
from gridwatch.incidents import IncidentEnded
from gridwatch.records import ReportFiled, RoutedEvent
from streams.detectors import air, crowd, fire, person, report
from streams.detectors.context import CellContext
from streams.feedback import FeedbackState, extra_at, lapse, on_ended, on_revoked

# Keys of records already handled are kept this long (by event time) so a re-delivery, even
# long after, is recognised and dropped; the cap bounds a cell's state under a flood.
DEDUPE_HORIZON = timedelta(hours=24)
DEDUPE_MAX = 2048
# Devices whose latest liveness report is remembered per cell, at most (a flood of new ids
# costs a few extra reports, never unbounded state).
REPORTED_MAX = 1024

Step = Callable[[Any, Any, CellContext, Any], tuple[Any, list[Finding]]]


@dataclass(frozen=True)
class DetectorSpec:
    """One detector: the record types it reads, its state model, its step and its settings."""

    name: str
    types: frozenset[str]
    state: type[BaseModel]
    step: Step
    settings: Callable[[DetectSettings], Any]


DETECTORS: tuple[DetectorSpec, ...] = (
    DetectorSpec("fire", fire.TYPES, fire.FireState, fire.step, lambda d: d.fire),
    DetectorSpec("crowd", crowd.TYPES, crowd.CrowdState, crowd.step, lambda d: d.crowd),
    DetectorSpec("person", person.TYPES, person.PersonState, person.step, lambda d: d.person),
    DetectorSpec("air", air.TYPES, air.AirState, air.step, lambda d: d.air),
    DetectorSpec("report", report.TYPES, report.ReportState, report.step, lambda d: d),
)
_BY_TYPE: dict[str, DetectorSpec] = {t: spec for spec in DETECTORS for t in spec.types}


class CellState(BaseModel):
    """Everything stage one remembers about a cell (a faust table value, stored as JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seen: dict[str, AwareDatetime] = Field(default_factory=dict)
    detectors: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Each detector's own state, as JSON."
    )
    reported: dict[str, AwareDatetime] = Field(
        default_factory=dict,
        description="Device → when the bridge received the event of its latest DeviceSeen.",
    )
    feedback: FeedbackState = Field(
        default_factory=FeedbackState,
        description="False-alarm adjustments of the cell's devices.",
    )


def remember(seen: dict[str, datetime], key: str, at: datetime) -> dict[str, datetime]:
    """`seen` plus `key`, without keys older than the horizon and at most DEDUPE_MAX of them."""
    horizon = max(at, *seen.values()) - DEDUPE_HORIZON if seen else at - DEDUPE_HORIZON
    kept = {k: t for k, t in seen.items() if t >= horizon}
    kept[key] = at
    if len(kept) > DEDUPE_MAX:
        kept = dict(sorted(kept.items(), key=lambda kv: kv[1])[-DEDUPE_MAX:])
    return kept


CellRecord = RoutedEvent | ReportFiled
Feedback = IncidentEnded | AdjustmentRevoked
# Findings, liveness reports and forwarded endings go to fusion; adjustments to the store.
CellOutput = Finding | DeviceSeen | DeviceAdjusted | IncidentEnded


def record_type(record: CellRecord) -> str:
    """The type a detector is chosen by: the event type, or `report`."""
    return record.event.type if isinstance(record, RoutedEvent) else "report"


def record_time(record: CellRecord) -> datetime:
    """When it happened: the device's event time, or when the report was filed."""
    return record.event.time if isinstance(record, RoutedEvent) else record.filed_at


def _run_detector(
    spec: DetectorSpec, state: CellState, record: CellRecord, ctx: CellContext, cfg: DetectSettings
) -> tuple[CellState, list[Finding]]:
    seen = remember(state.seen, record.dedupe_key, record_time(record))
    stored = state.detectors.get(spec.name)
    before = spec.state.model_validate(stored) if stored is not None else spec.state()
    after, findings = spec.step(before, record, ctx, spec.settings(cfg))
    detectors = state.detectors
    if after is not before:
        detectors = {**detectors, spec.name: after.model_dump(mode="json")}
    return state.model_copy(update={"seen": seen, "detectors": detectors}), findings


def _report_seen(
    state: CellState, routed: RoutedEvent, cfg: HealthSettings
) -> tuple[CellState, list[DeviceSeen]]:
    """A DeviceSeen when the device's last one from this cell is `seen_every_s` old or more."""
    # Timed by the bridge's receipt, not the device's clock: a camera whose clock is stuck or
    # wrong still sends, and must still be reported as sending.
    at, every = routed.received_at, timedelta(seconds=cfg.seen_every_s)
    last = state.reported.get(routed.device_id)
    if last is not None and abs(at - last) < every:
        return state, []
    # An entry older than `every` is due anyway, so dropping it changes nothing.
    kept = {d: t for d, t in state.reported.items() if abs(at - t) < every}
    kept[routed.device_id] = at
    if len(kept) > REPORTED_MAX:
        kept = dict(sorted(kept.items(), key=lambda kv: kv[1])[-REPORTED_MAX:])
    seen = DeviceSeen(
        device_id=routed.device_id,
        source_kind=routed.source_kind,
        cell_id=routed.cell_id,
        lon=routed.lon,
        lat=routed.lat,
        time=routed.event.time,
    )
    return state.model_copy(update={"reported": kept}), [seen]


def _penalised(
    state: CellState, record: CellRecord, ctx: CellContext
) -> tuple[CellState, CellContext, list[DeviceAdjusted]]:
    """Lift adjustments that ran out, and put the active ones into the detectors' context."""
    at = record_time(record)
    fb, lifted = lapse(state.feedback, at, cell_id=record.cell_id)
    if fb is not state.feedback:
        state = state.model_copy(update={"feedback": fb})
    extra = extra_at(fb, at)
    if extra:
        ctx = replace(ctx, extra_confirmations=extra)
    return state, ctx, lifted


def take_feedback(
    state: CellState, record: Feedback, cfg: DetectSettings
) -> tuple[CellState, list[CellOutput]]:
    """A person's ending or an operator's undo: adjust the cell's devices; pass endings on."""
    if isinstance(record, IncidentEnded):
        fb, adjusted = on_ended(state.feedback, record, cfg.feedback)
        forwarded: list[CellOutput] = [record]
    else:
        fb, adjusted = on_revoked(state.feedback, record)
        forwarded = []
    if fb is not state.feedback:
        state = state.model_copy(update={"feedback": fb})
    return state, [*adjusted, *forwarded]


def step_cell(
    state: CellState, record: CellRecord | Feedback, ctx: CellContext, cfg: DetectSettings
) -> tuple[CellState, list[CellOutput]]:
    """One record of the events or feedback stream of a cell, whatever its kind."""
    if isinstance(record, IncidentEnded | AdjustmentRevoked):
        return take_feedback(state, record, cfg)
    return detect(state, record, ctx, cfg)


def detect(
    state: CellState, record: CellRecord, ctx: CellContext, cfg: DetectSettings
) -> tuple[CellState, list[CellOutput]]:
    """Run the detector for one record of the cell, drop repeats, report the device as sending."""
    # A record of no detector's type changes the state only when its device is due a report.
    spec = _BY_TYPE.get(record_type(record))
    if spec is not None and record.dedupe_key in state.seen:
        return state, []
    out: list[CellOutput] = []
    if spec is not None:
        state, ctx, lifted = _penalised(state, record, ctx)
        out.extend(lifted)
        state, findings = _run_detector(spec, state, record, ctx, cfg)
        out.extend(findings)
    if isinstance(record, RoutedEvent):
        state, reports = _report_seen(state, record, cfg.health)
        out.extend(reports)
    return state, out
