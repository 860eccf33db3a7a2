"""Stage one: one grid cell's detectors, fed that cell's events in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridwatch.findings import Finding
from gridwatch.records import ReportFiled, RoutedEvent
from gridwatch.settings import DetectSettings
from streams.detectors import air, crowd, fire, person, report
from streams.detectors.context import CellContext

# Keys of records already handled are kept this long (by event time) so a re-delivery, even
# long after, is recognised and dropped; the cap bounds a cell's state under a flood.
DEDUPE_HORIZON = timedelta(hours=24)
DEDUPE_MAX = 2048

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


def remember(seen: dict[str, datetime], key: str, at: datetime) -> dict[str, datetime]:
    """`seen` plus `key`, without keys older than the horizon and at most DEDUPE_MAX of them."""
    horizon = max(at, *seen.values()) - DEDUPE_HORIZON if seen else at - DEDUPE_HORIZON
    kept = {k: t for k, t in seen.items() if t >= horizon}
    kept[key] = at
    if len(kept) > DEDUPE_MAX:
        kept = dict(sorted(kept.items(), key=lambda kv: kv[1])[-DEDUPE_MAX:])
    return kept


CellRecord = RoutedEvent | ReportFiled


def record_type(record: CellRecord) -> str:
    """The type a detector is chosen by: the event type, or `report`."""
    return record.event.type if isinstance(record, RoutedEvent) else "report"


def record_time(record: CellRecord) -> datetime:
    """When it happened: the device's event time, or when the report was filed."""
    return record.event.time if isinstance(record, RoutedEvent) else record.filed_at


def detect(
    state: CellState, record: CellRecord, ctx: CellContext, cfg: DetectSettings
) -> tuple[CellState, list[Finding]]:
    """Run the detector for one record of the cell; drop records seen before."""
    spec = _BY_TYPE.get(record_type(record))
    if spec is None:
        return state, []
    key = record.dedupe_key
    if key in state.seen:
        return state, []
    seen = remember(state.seen, key, record_time(record))
    stored = state.detectors.get(spec.name)
    before = spec.state.model_validate(stored) if stored is not None else spec.state()
    after, findings = spec.step(before, record, ctx, spec.settings(cfg))
    detectors = state.detectors
    if after is not before:
        detectors = {**detectors, spec.name: after.model_dump(mode="json")}
    return CellState(seen=seen, detectors=detectors), findings
