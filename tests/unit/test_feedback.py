"""The false-alarm loop: penalties per device from people's cancellations, lapse and undo."""

from __future__ import annotations

from typing import Any

import pytest

from gridwatch.detection_settings import FeedbackSettings
from gridwatch.devices import AdjustmentRevoked, DeviceAdjusted
from gridwatch.incidents import IncidentEnded
from streams import feedback
from streams.feedback import FeedbackState, extra_at, lapse, on_ended, on_revoked
from tests.support import later

CFG = FeedbackSettings(extra_per_false_alarm=1, max_extra=3, penalty_s=3600)


def ended(incident: str = "west-smoke-1", at: float = 0, **fields: Any) -> IncidentEnded:
    base: dict[str, Any] = {
        "incident_id": incident,
        "cell_id": "west",
        "category": "smoke",
        "outcome": "cancelled",
        "false_alarm": True,
        "reason": "low cloud over the ridge at sunrise",
        "devices": ["cam-0042"],
        "ended_at": later(at),
    }
    return IncidentEnded.model_validate(base | fields)


def revoked(device: str = "cam-0042", at: float = 60) -> AdjustmentRevoked:
    return AdjustmentRevoked(device_id=device, cell_id="west", by="operator", at=later(at))


def apply(*endings: IncidentEnded) -> tuple[FeedbackState, list[DeviceAdjusted]]:
    state, out = FeedbackState(), []
    for item in endings:
        state, adjusted = on_ended(state, item, CFG)
        out.extend(adjusted)
    return state, out


def test_a_false_alarm_penalises_each_device_of_the_incident() -> None:
    state, out = apply(ended(devices=["cam-0042", "cam-0043", "cam-0042"]))
    assert [a.device_id for a in out] == ["cam-0042", "cam-0043"]
    first = out[0]
    assert (first.cell_id, first.extra_confirmations, first.false_alarms) == ("west", 1, 1)
    assert (first.until, first.at) == (later(3600), later(0))
    assert first.reason.startswith("incident west-smoke-1 cancelled as a false alarm: low cloud")
    assert extra_at(state, later(10)) == {"cam-0042": 1, "cam-0043": 1}


def test_extra_grows_per_false_alarm_up_to_the_cap_and_the_time_restarts() -> None:
    state, out = apply(*(ended(f"inc-{i}", at=i * 60) for i in range(5)))
    assert [a.extra_confirmations for a in out] == [1, 2, 3, 3, 3]
    assert [a.false_alarms for a in out] == [1, 2, 3, 4, 5]
    assert out[-1].until == later(4 * 60 + 3600)
    assert extra_at(state, later(4 * 60)) == {"cam-0042": 3}


def test_adjustments_expire_by_event_time_and_lapse_says_so() -> None:
    state, _ = apply(ended(at=0))
    assert extra_at(state, later(3599)) == {"cam-0042": 1}
    assert extra_at(state, later(3600)) == {}
    unchanged, none = lapse(state, later(3599), cell_id="west")
    assert (unchanged, none) == (state, [])
    assert unchanged is state
    lapsed, [lifted] = lapse(state, later(7200), cell_id="west")
    assert (lifted.extra_confirmations, lifted.until, lifted.reason) == (0, None, "lapsed")
    # Dated when it ran out, so a replay that notices it later writes the same row.
    assert lifted.at == later(3600)
    assert lifted.false_alarms == 1
    assert lapse(lapsed, later(9000), cell_id="west") == (lapsed, [])


def test_a_false_alarm_after_a_penalty_ran_out_starts_again_from_one() -> None:
    state, _ = apply(ended("inc-1", at=0), ended("inc-2", at=60))
    # Not lapsed on the record yet, but past its time: it counts for nothing.
    state, [again] = on_ended(state, ended("inc-3", at=2 * 3600), CFG)
    assert (again.extra_confirmations, again.false_alarms) == (1, 3)


def test_a_late_ending_never_carries_an_older_time_than_the_lapse_before_it() -> None:
    state, _ = apply(ended("inc-1", at=0))
    state, [lifted] = lapse(state, later(4000), cell_id="west")
    # A person's cancellation dated inside the old penalty, processed after its lapse.
    state, [late] = on_ended(state, ended("inc-2", at=3000), CFG)
    assert late.at == lifted.at == later(3600)
    assert late.extra_confirmations == 1


def test_an_operator_lifts_an_adjustment_and_the_count_survives() -> None:
    state, _ = apply(ended("inc-1"), ended("inc-2", at=30))
    state, [lifted] = on_revoked(state, revoked(at=60))
    assert (lifted.extra_confirmations, lifted.until) == (0, None)
    assert (lifted.false_alarms, lifted.reason, lifted.at) == (2, "lifted by operator", later(60))
    assert extra_at(state, later(61)) == {}
    # Lifting again, or lifting a device never penalised, does nothing.
    assert on_revoked(state, revoked(at=90)) == (state, [])
    assert on_revoked(state, revoked("cam-9999"))[1] == []
    state, [next_one] = on_ended(state, ended("inc-3", at=120), CFG)
    assert (next_one.extra_confirmations, next_one.false_alarms) == (1, 3)


def test_reports_by_people_are_never_penalised() -> None:
    devices = ["report:anonymous", "report:w-0117", "cam-0042"]
    state, out = apply(ended(devices=devices))
    assert [a.device_id for a in out] == ["cam-0042"]
    only_people = ended("inc-2", devices=["report:anonymous"])
    state, none = on_ended(state, only_people, CFG)
    assert none == []
    assert set(state.devices) == {"cam-0042"}


def test_closings_and_cancellations_for_other_reasons_change_nothing() -> None:
    state = FeedbackState()
    handled = ended(outcome="closed", false_alarm=False, reason="fire put out")
    assert on_ended(state, handled, CFG) == (state, [])
    assert on_ended(state, handled, CFG)[0] is state
    duplicate = ended(false_alarm=False, reason="reported twice")
    assert on_ended(state, duplicate, CFG)[0] is state


def test_the_same_ending_delivered_twice_counts_once() -> None:
    state, [first] = apply(ended())
    again, out = on_ended(state, ended(), CFG)
    assert (again, out) == (state, [])
    assert again is state
    assert state.devices["cam-0042"].false_alarms == first.false_alarms == 1


def test_applied_ids_are_bounded_and_older_endings_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feedback, "MAX_APPLIED", 3)
    state, _ = apply(*(ended(f"inc-{i}", at=i) for i in range(5)))
    assert sorted(state.applied) == ["inc-2", "inc-3", "inc-4"]
    assert state.floor == later(1)
    # inc-0 was forgotten: a redelivery of it must not count a sixth false alarm.
    assert on_ended(state, ended("inc-0", at=0), CFG) == (state, [])
    assert state.devices["cam-0042"].false_alarms == 5


def test_devices_are_bounded_lifted_ones_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feedback, "MAX_DEVICES", 2)
    state, _ = apply(ended("inc-1", devices=["cam-a"]))
    state, _ = on_revoked(state, revoked("cam-a"))
    state, _ = on_ended(state, ended("inc-2", at=120, devices=["cam-b", "cam-c"]), CFG)
    assert set(state.devices) == {"cam-b", "cam-c"}


def test_state_round_trips_through_json() -> None:
    state, _ = apply(ended("inc-1"), ended("inc-2", at=60, devices=["cam-0042", "cam-7"]))
    state, _ = on_revoked(state, revoked("cam-7", at=90))
    stored = state.model_dump(mode="json")
    assert FeedbackState.model_validate(stored) == state
    assert FeedbackState.model_validate_json(state.model_dump_json()) == state
