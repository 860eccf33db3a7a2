"""Device health: silence after the limit, offline, return, grace after a gap, bounds."""

from __future__ import annotations

from datetime import timedelta

from gridwatch.detection_settings import DetectSettings, HealthSettings
from gridwatch.devices import DeviceSeen, DeviceStatus, Tick
from gridwatch.events import SourceKind
from gridwatch.findings import Finding
from gridwatch.incidents import IncidentCleared, IncidentDetected, Severity
from streams.health import (
    FORGET_AFTER,
    DeviceHealth,
    HealthInput,
    HealthState,
    interval_of,
    track,
)
from streams.runner import Pipeline
from tests.detectors import GRID, routed
from tests.support import T0, later

CFG = HealthSettings()
SHARP_LIMIT = CFG.sharp_eyes_interval_s * CFG.missed_intervals  # 360 s
BLUE_LIMIT = CFG.blue_sky_interval_s * CFG.missed_intervals  # 1800 s


def seen(device: str = "cam-1", kind: SourceKind = "sharp-eyes", at: float = 0) -> DeviceSeen:
    return DeviceSeen(
        device_id=device,
        source_kind=kind,
        cell_id="west",
        lon=114.32,
        lat=35.92,
        time=later(at),
    )


def status(said: str, device: str = "cam-1", at: float = 0) -> DeviceStatus:
    return DeviceStatus.model_validate(
        {
            "device_id": device,
            "source_kind": "sharp-eyes",
            "status": said,
            "received_at": later(at),
        }
    )


class Tracker:
    """One county's tracker with its device records in a dict, as the runner keeps them."""

    def __init__(self, cfg: HealthSettings = CFG) -> None:
        self.cfg = cfg
        self.state = HealthState()
        self.devices: dict[str, DeviceHealth] = {}

    def feed(self, item: HealthInput) -> list[Finding]:
        self.state, changes, found = track(self.state, item, self.devices, self.cfg)
        for device_id, device in changes.items():
            if device is None:
                del self.devices[device_id]
            else:
                self.devices[device_id] = device
        return found

    def ticks(self, start: float, end: float, step: float = 30) -> list[Finding]:
        """Ticks every `step` seconds from `start` through `end` (both included)."""
        times = [start]
        while times[-1] + step < end:
            times.append(times[-1] + step)
        return [f for at in [*times, end] for f in self.feed(Tick(now=later(at)))]


def watched(*items: HealthInput) -> Tracker:
    """A tracker that has ticked at T0 and then heard `items`."""
    tracker = Tracker()
    tracker.feed(Tick(now=T0))
    for item in items:
        tracker.feed(item)
    return tracker


def test_a_camera_is_silent_just_after_its_limit_and_not_at_it() -> None:
    tracker = watched(seen())
    assert tracker.ticks(30, SHARP_LIMIT) == []
    [found] = tracker.feed(Tick(now=later(SHARP_LIMIT + 1)))
    assert (found.action, found.kind, found.category) == ("raise", "maintenance", "no_signal")
    assert (found.cell_id, found.source_key, found.severity) == ("west", "cam-1", Severity.LOW)
    assert found.opening_key == f"cam-1/silent@{T0.isoformat()}"
    assert found.note == "cam-1 silent since 2026-11-28 01:14 UTC (3 heartbeats of 120 s missed)"
    [evidence] = found.evidence
    assert (evidence.device_id, evidence.type, evidence.time) == ("cam-1", "device.seen", T0)
    # Raised once, not again at every tick.
    assert tracker.ticks(SHARP_LIMIT + 30, SHARP_LIMIT + 300) == []


def test_the_limit_depends_on_the_source_kind() -> None:
    tracker = watched(seen("cam-1", "sharp-eyes"), seen("sky-1", "blue-sky"))
    early = tracker.ticks(30, BLUE_LIMIT)
    assert [f.source_key for f in early] == ["cam-1"]
    assert [f.source_key for f in tracker.feed(Tick(now=later(BLUE_LIMIT + 1)))] == ["sky-1"]
    assert interval_of("blue-sky", CFG) == timedelta(seconds=CFG.blue_sky_interval_s)


def test_a_device_that_says_offline_is_silent_one_interval_later() -> None:
    tracker = watched(seen())
    tracker.ticks(30, 90)
    tracker.feed(status("offline", at=95))
    interval = CFG.sharp_eyes_interval_s
    assert tracker.ticks(120, 90 + interval) == []
    [found] = tracker.feed(Tick(now=later(90 + interval + 1)))
    assert found.note == "cam-1 offline since 2026-11-28 01:15 UTC (it said so)"
    assert [e.type for e in found.evidence] == ["device.status"]


def test_a_silent_device_heard_again_clears_its_finding() -> None:
    for back in (seen(at=500), status("online", at=500)):
        tracker = watched(seen())
        assert len(tracker.ticks(30, SHARP_LIMIT + 30)) == 1
        [cleared] = tracker.feed(back)
        assert (cleared.action, cleared.source_key, cleared.cell_id) == ("clear", "cam-1", "west")
        assert cleared.evidence == []
        assert tracker.ticks(SHARP_LIMIT + 60, SHARP_LIMIT * 1.5) == []


def test_offline_from_a_silent_device_does_not_clear_it() -> None:
    tracker = watched(seen())
    tracker.ticks(30, SHARP_LIMIT + 30)
    assert tracker.feed(status("offline", at=400)) == []
    assert tracker.devices["cam-1"].silent


def test_a_device_known_only_from_its_status_raises_nothing() -> None:
    tracker = watched(status("online", device="cam-9"))
    assert tracker.ticks(30, BLUE_LIMIT * 2) == []
    assert tracker.devices["cam-9"].place is None


def test_after_a_gap_in_ticks_every_device_gets_a_full_limit_again() -> None:
    tracker = watched(seen())
    tracker.ticks(30, 60)
    # The streams process was down from 60 s to 400 s; what it missed is still on its way.
    assert tracker.ticks(400, 400 + SHARP_LIMIT) == []
    assert len(tracker.feed(Tick(now=later(400 + SHARP_LIMIT + 1)))) == 1


def test_device_clocks_do_not_count_and_the_tracker_clock_never_goes_back() -> None:
    tracker = watched(seen(at=24 * 3600))  # a camera one day fast
    assert tracker.devices["cam-1"].heard_at == T0
    tracker.ticks(30, 300)
    state = tracker.state
    assert tracker.feed(Tick(now=later(100))) == []
    assert tracker.state is state
    assert len(tracker.ticks(330, SHARP_LIMIT + 30)) == 1


def test_repeated_heartbeats_between_ticks_change_nothing() -> None:
    tracker = watched(status("online"))
    before = tracker.devices
    state, changes, found = track(tracker.state, status("online", at=5), before, CFG)
    assert (state, changes, found) == (tracker.state, {}, [])


def test_state_survives_json() -> None:
    tracker = watched(seen(), status("offline", device="cam-2"))
    tracker.ticks(30, SHARP_LIMIT + 30)
    for device in tracker.devices.values():
        assert DeviceHealth.model_validate(device.model_dump(mode="json")) == device
    state = tracker.state
    assert HealthState.model_validate(state.model_dump(mode="json")) == state


def test_devices_unheard_for_long_are_forgotten_and_a_silent_one_cleared() -> None:
    daily = HealthSettings(tick_s=24 * 3600)
    tracker = Tracker(daily)
    tracker.feed(Tick(now=T0))
    tracker.feed(seen("cam-1"))
    tracker.feed(status("online", device="cam-9"))
    day = 24 * 3600
    raised = tracker.ticks(day, FORGET_AFTER.total_seconds(), step=day)
    assert [f.action for f in raised] == ["raise"]
    [cleared] = tracker.feed(Tick(now=later(FORGET_AFTER.total_seconds() + day)))
    assert (cleared.action, cleared.source_key) == ("clear", "cam-1")
    assert tracker.devices == {}


def test_silent_devices_of_one_cell_make_one_incident_cleared_when_all_are_back() -> None:
    pipeline = Pipeline(DetectSettings(), GRID)
    out: list[object] = [*pipeline.tick(T0)]

    def hear(device: str, at: float) -> None:
        event = routed("sharp-eyes.motion", device=device, event_id=f"{device}-{at}", at=later(at))
        out.extend(pipeline.feed(event.model_copy(update={"received_at": later(at)})))

    def ticks(start: float, end: float) -> None:
        for at in range(int(start), int(end) + 1, 30):
            out.extend(pipeline.tick(later(at)))

    hear("cam-1", 0)
    hear("cam-2", 0)
    ticks(30, SHARP_LIMIT + 30)
    detected = [r for r in out if isinstance(r, IncidentDetected)]
    assert len({r.incident_id for r in detected}) == 1
    assert sorted(r.evidence.device_id for r in detected) == ["cam-1", "cam-2"]
    assert {(r.kind, r.category, r.cell_id) for r in detected} == {
        ("maintenance", "no_signal", "west")
    }
    # Back one by one, hours later (long past fusion's grouping window).
    back = 6 * 3600
    ticks(SHARP_LIMIT + 60, back)
    hear("cam-1", back)
    assert not any(isinstance(r, IncidentCleared) for r in out)
    hear("cam-2", back + 10)
    [cleared] = [r for r in out if isinstance(r, IncidentCleared)]
    assert cleared.incident_id == detected[0].incident_id
    # Silent again at once: no cool-down holds a new incident back.
    out.clear()
    ticks(back + 30, back + SHARP_LIMIT + 60)
    again = {r.incident_id for r in out if isinstance(r, IncidentDetected)}
    assert len(again) == 1 and again != {cleared.incident_id}
