"""Crowds per camera: over the cell's capacity for a sustained time, or gathered and loud."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gridwatch.detection_settings import CrowdSettings
from gridwatch.events import CrowdEvent
from gridwatch.findings import Finding, FindingAction
from gridwatch.incidents import Evidence, Severity
from gridwatch.records import RoutedEvent
from streams.detectors.context import CellContext, evidence_of, finding

DETECTOR = "crowd/1"
TYPES = frozenset({"sharp-eyes.crowd"})
# A camera silent for longer than this has not shown that anything lasted through the
# silence: its running stretches restart at its next count. Counting cameras report every
# 10-60 s, so five minutes only trips on a camera that was off.


class CameraState(BaseModel):
    """What one camera's counts have shown so far; idle cameras are not kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    last_at: AwareDatetime = Field(description="Time of the camera's newest count.")
    over: Evidence | None = Field(
        None, description="First count of the running stretch above capacity."
    )
    high_since: AwareDatetime | None = Field(
        None, description="Start of the running stretch at twice the capacity or more."
    )
    raised: Severity | None = Field(None, description="Severity of the open crowd hazard.")
    under_since: AwareDatetime | None = Field(
        None, description="Start of the stretch within capacity that will clear the hazard."
    )
    gathering: bool = Field(False, description="A loud gathering (dispute) is open.")
    quiet_since: AwareDatetime | None = Field(
        None, description="Start of the quiet stretch that will clear the gathering."
    )

    @property
    def pending(self) -> bool:
        """Nothing open: after a long silence there is nothing worth keeping."""
        return self.raised is None and not self.gathering

    @property
    def idle(self) -> bool:
        """Nothing open and nothing running: the camera need not be kept."""
        return self.pending and self.over is None


class CrowdState(BaseModel):
    """The cell's cameras that have something open or running, by device id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cameras: dict[str, CameraState] = Field(default_factory=dict)


def step(
    state: CrowdState, routed: RoutedEvent, ctx: CellContext, cfg: CrowdSettings
) -> tuple[CrowdState, list[Finding]]:
    """Judge one camera's count against the cell's capacity and the noise threshold."""
    event = routed.event
    bar = ctx.min_confidence(routed.device_id, cfg.min_confidence)
    if not isinstance(event, CrowdEvent) or event.data.confidence < bar:
        return state, []
    now = event.time
    before = state.cameras.get(routed.device_id)
    if before is not None and now < before.last_at:
        return state, []  # a late count must not rewrite what newer counts showed
    camera = _resumed(before, now, cfg)
    camera, findings = _judge_capacity(camera, routed, event, ctx.capacity, cfg)
    camera, noisy = _judge_noise(camera, routed, event, cfg)
    cameras = {
        device: kept
        for device, kept in state.cameras.items()
        if device != routed.device_id and not (_stale(kept, now, cfg) and kept.pending)
    }
    if not camera.idle:
        cameras[routed.device_id] = camera
    if cameras == state.cameras:
        return state, findings + noisy
    return CrowdState(cameras=cameras), findings + noisy


def _resumed(before: CameraState | None, now: datetime, cfg: CrowdSettings) -> CameraState:
    """The camera's state carried to `now`, its stretches restarted after a long silence."""
    if before is None:
        return CameraState(last_at=now)
    if _stale(before, now, cfg):
        return CameraState(last_at=now, raised=before.raised, gathering=before.gathering)
    return before.model_copy(update={"last_at": now})


def _stale(camera: CameraState, now: datetime, cfg: CrowdSettings) -> bool:
    return now - camera.last_at > timedelta(seconds=cfg.max_gap_s)


def _held(since: datetime | None, now: datetime, cfg: CrowdSettings) -> bool:
    return since is not None and now - since >= timedelta(seconds=cfg.sustain_s)


def _clearing(
    camera: CameraState,
    since: Literal["under_since", "quiet_since"],
    now: datetime,
    cfg: CrowdSettings,
) -> tuple[CameraState, datetime | None]:
    """Carry the stretch that will clear something; its start once it has held sustain_s."""
    start: datetime = getattr(camera, since) or now
    if _held(start, now, cfg):
        return camera.model_copy(update={since: None}), start
    return camera.model_copy(update={since: start}), None


def _span(since: datetime, now: datetime) -> str:
    seconds = int((now - since).total_seconds())
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"


def _judge_capacity(
    camera: CameraState,
    routed: RoutedEvent,
    event: CrowdEvent,
    capacity: int | None,
    cfg: CrowdSettings,
) -> tuple[CameraState, list[Finding]]:
    """Raise after a sustained stretch above capacity, clear after one within it."""
    if capacity is None:
        return camera, []
    now, count = event.time, event.data.count
    if count <= capacity:
        camera = camera.model_copy(update={"over": None, "high_since": None})
        open_severity = camera.raised
        if open_severity is None:
            return camera, []
        camera, since = _clearing(camera, "under_since", now, cfg)
        if since is None:
            return camera, []
        note = f"back to {count} people, capacity {capacity}, for {_span(since, now)}"
        cleared = _finding(routed, "crowd", open_severity, note, action="clear")
        return camera.model_copy(update={"raised": None}), [cleared]
    current = evidence_of(routed)
    over = camera.over or current
    # Severity, like the hazard itself, counts only what held for sustain_s: one miscounted
    # frame at twice the capacity neither raises HIGH nor escalates.
    high_since = (camera.high_since or now) if count >= 2 * capacity else None
    camera = camera.model_copy(update={"over": over, "high_since": high_since, "under_since": None})
    if not _held(over.time, now, cfg):
        return camera, []
    severity = Severity.HIGH if _held(high_since, now, cfg) else Severity.MEDIUM
    if camera.raised is not None and severity <= camera.raised:
        return camera, []
    note = f"{count} people, capacity {capacity}, for {_span(over.time, now)}"
    evidence = [current] if over == current else [over, current]
    raised = _finding(routed, "crowd", severity, note, evidence=evidence)
    return camera.model_copy(update={"raised": severity}), [raised]


def _finding(
    routed: RoutedEvent,
    category: Literal["crowd", "gathering"],
    severity: Severity,
    note: str,
    *,
    action: FindingAction = "raise",
    evidence: list[Evidence] | None = None,
) -> Finding:
    return finding(
        routed,
        detector=DETECTOR,
        kind="hazard" if category == "crowd" else "dispute",
        category=category,
        severity=severity,
        note=note,
        action=action,
        evidence=evidence,
    )


def _judge_noise(
    camera: CameraState, routed: RoutedEvent, event: CrowdEvent, cfg: CrowdSettings
) -> tuple[CameraState, list[Finding]]:
    """Raise a loud gathering at once; clear it after a quiet stretch of sustain_s."""
    noise = event.data.noise_db
    if noise is None:
        return camera, []  # a camera without a microphone says nothing about noise
    now, count = event.time, event.data.count
    loud = noise >= cfg.noise_db
    if not camera.gathering:
        if not loud or count < cfg.gathering_min_count:
            return camera, []
        note = f"{count} people, {noise:.0f} dB(A)"
        raised = _finding(routed, "gathering", Severity.MEDIUM, note)
        return camera.model_copy(update={"gathering": True, "quiet_since": None}), [raised]
    if loud:
        return camera.model_copy(update={"quiet_since": None}), []
    # A quarrel has pauses: only a quiet stretch as long as sustain_s ends it, so one calm
    # reading does not clear and re-raise the same dispute.
    camera, since = _clearing(camera, "quiet_since", now, cfg)
    if since is None:
        return camera, []
    note = f"quiet, {noise:.0f} dB(A), for {_span(since, now)}"
    cleared = _finding(routed, "gathering", Severity.MEDIUM, note, action="clear")
    return camera.model_copy(update={"gathering": False}), [cleared]
