"""SLA clocks: defaults, the clock of each status, escalation up to the county, reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel, ValidationError

from alerts.commands import (
    LEVELS,
    Accept,
    Action,
    Actor,
    Arrive,
    Dispatch,
    Escalate,
    RequestHelp,
)
from alerts.lifecycle import IncidentCase, transition
from alerts.sla import Clock, Deadline, clocks_for, deadlines, escalation_level, next_reminder
from gridwatch.incidents import IncidentCategory, IncidentStatus, Severity
from gridwatch.people import Level
from gridwatch.sla_settings import Clocks, SlaSettings
from tests.loop import ADMIN, FIX, SUPERVISOR, TIMER, WORKER, case, command, walk
from tests.support import T0, later

CFG = SlaSettings()
MIN = 60


def minutes(c: Clocks) -> tuple[int, int, int]:
    return (c.accept_min, c.arrive_min, c.resolve_min)


@pytest.mark.parametrize(
    ("category", "severity", "expected"),
    [
        ("fire", Severity.CRITICAL, (5, 30, 240)),
        ("fight", Severity.HIGH, (15, 60, 480)),
        ("crowd", Severity.MEDIUM, (30, 120, 1440)),
        ("other", Severity.LOW, (120, 480, 4320)),
        ("smoke", Severity.HIGH, (10, 30, 240)),
        ("smoke", Severity.CRITICAL, (5, 30, 240)),
        ("fall", Severity.HIGH, (10, 30, 240)),
        ("quarrel", Severity.MEDIUM, (30, 240, 4320)),
        ("quarrel", Severity.HIGH, (15, 60, 480)),
        ("no_signal", Severity.LOW, (240, 1440, 4320)),
    ],
)
def test_default_clocks_by_severity_with_category_overrides(
    category: IncidentCategory, severity: Severity, expected: tuple[int, int, int]
) -> None:
    assert minutes(clocks_for(category, severity, CFG)) == expected


def test_setting_one_clock_keeps_the_other_two() -> None:
    cfg = SlaSettings.model_validate({"critical": {"accept_min": 3}})
    assert minutes(cfg.critical) == (3, 30, 240)


def test_an_override_replaces_the_clocks_of_its_category_only() -> None:
    fire = {"fire": {"critical": {"accept_min": 2, "arrive_min": 20, "resolve_min": 120}}}
    cfg = SlaSettings.model_validate({"categories": fire})
    assert minutes(clocks_for("fire", Severity.CRITICAL, cfg)) == (2, 20, 120)
    assert minutes(clocks_for("intrusion", Severity.CRITICAL, cfg)) == (5, 30, 240)


@pytest.mark.parametrize(
    "bad",
    [
        {"shortest_reminder_min": 10, "longest_reminder_min": 5},
        {"low": {"accept_min": 0}},
        {"categories": {"volcano": {}}},
        {"categories": {"fire": {"urgent": {"accept_min": 1, "arrive_min": 1, "resolve_min": 1}}}},
        {"reminder_every": 5},
    ],
)
def test_bad_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SlaSettings.model_validate(bad)


@pytest.mark.parametrize("section", [SlaSettings, Clocks])
def test_every_setting_is_titled_and_described(section: type[BaseModel]) -> None:
    for name, info in section.model_fields.items():
        assert info.title and info.description, name


def only(case_: IncidentCase, cfg: SlaSettings = CFG) -> Deadline:
    [deadline] = deadlines(case_, cfg)
    return deadline


def test_a_new_incident_runs_the_accept_clock_from_its_opening() -> None:
    d = only(case())
    assert (d.clock, d.level, d.started_at, d.due_at) == ("accept", "grid", T0, later(5 * MIN))
    assert (d.incident_id, d.cell_id) == ("c1-fire-0001", "c1")


@pytest.mark.parametrize(
    ("actions", "clock", "window_min"),
    [
        (["dispatch"], "accept", 5),
        (["dispatch", "accept"], "arrive", 30),
        (["dispatch", "accept", "arrive"], "resolve", 240),
        (["dispatch", "hand_back"], "accept", 5),
        (["dispatch", "reassign"], "accept", 5),
        (["escalate"], "accept", 5),
    ],
)
def test_each_status_runs_its_clock_from_the_step_that_entered_it(
    actions: list[Action], clock: Clock, window_min: int
) -> None:
    people: dict[Action, Actor] = {
        "dispatch": SUPERVISOR,
        "reassign": SUPERVISOR,
        "escalate": TIMER,
    }
    steps = [command(a, people.get(a, WORKER), to=("w-1",)) for a in actions]
    current = walk(case(), steps)
    d = only(current)
    last = current.timeline[-1].at
    assert (d.clock, d.started_at, d.due_at) == (clock, last, last + timedelta(minutes=window_min))


@pytest.mark.parametrize("status", ["resolved", "verified", "closed", "cancelled"])
def test_no_clock_runs_once_it_is_resolved(status: IncidentStatus) -> None:
    assert deadlines(case(status), CFG) == []


def test_an_accept_stops_the_accept_clock_and_every_reminder_it_had_pending() -> None:
    waiting = walk(
        case("dispatched", assignees=("w-1",)),
        [Escalate(actor=TIMER, level="village", reason="accept overdue", assignees=("s-1",))],
    )
    # Both assignees were being reminded; one accept answers for the incident, not the person.
    assert [d.clock for d in deadlines(waiting, CFG)] == ["accept"]
    accepted, step = transition(waiting, Accept(actor=WORKER), at=later(150))
    pending = deadlines(accepted, CFG)
    assert [d.clock for d in pending] == ["arrive"]
    assert pending[0].started_at == step.at
    assert all(next_reminder(d, None, CFG) > step.at for d in pending)


def test_asking_for_help_leaves_the_clock_running() -> None:
    on_site = walk(case("accepted", assignees=("w-1",)), [Arrive(actor=WORKER, gps=FIX)])
    helped = walk(on_site, [RequestHelp(actor=WORKER, note="need a pump")], every_s=600)
    assert only(helped) == only(on_site)


def test_a_raised_severity_shortens_the_running_clock() -> None:
    dispatched = walk(
        case(severity=Severity.HIGH), [Dispatch(actor=SUPERVISOR, assignees=("w-1",))]
    )
    raised = dispatched.model_copy(update={"severity": Severity.CRITICAL})
    assert only(raised).due_at == only(dispatched).due_at - timedelta(minutes=10)


@pytest.mark.parametrize(
    ("current", "hierarchy", "expected"),
    [
        ("grid", LEVELS, "village"),
        ("village", LEVELS, "township"),
        ("township", LEVELS, "county"),
        ("county", LEVELS, None),
        ("grid", ("grid", "township", "county"), "township"),
        ("village", ("grid", "township", "county"), "township"),
        ("township", ("grid", "village"), None),
    ],
)
def test_escalation_climbs_one_level_of_the_hierarchy_and_stops_at_its_top(
    current: Level, hierarchy: tuple[Level, ...], expected: Level | None
) -> None:
    assert escalation_level(current, hierarchy) == expected


def test_an_incident_nobody_accepts_climbs_to_the_county_and_no_further() -> None:
    current = walk(case(), [Dispatch(actor=SUPERVISOR, assignees=("w-1",))])  # at T0 + 1 min
    climbed: list[tuple[float, Level]] = []
    for minute in range(2, 60):
        now = later(minute * MIN)
        for deadline in [d for d in deadlines(current, CFG) if d.due_at <= now]:
            level = escalation_level(current.level, LEVELS)
            if level is not None:
                reason = f"{deadline.clock} deadline passed at {deadline.due_at:%H:%M}"
                escalate = Escalate(actor=TIMER, level=level, reason=reason, assignees=(level,))
                current, _ = transition(current, escalate, at=now)
                climbed.append((minute, level))
    assert climbed == [(6, "village"), (11, "township"), (16, "county")]
    assert current.assignees == ("w-1", "village", "township", "county")
    # At the top the clock stays due: reminders go on, and the county can still act.
    assert [d.due_at <= later(59 * MIN) for d in deadlines(current, CFG)] == [True]
    assert transition(current, Accept(actor=ADMIN), at=later(60 * MIN))[0].status == "accepted"


def test_reminders_split_the_window_and_repeat_after_it_is_due() -> None:
    accept = only(case())  # critical: 5 minutes, so every 100 s
    first = next_reminder(accept, None, CFG)
    assert first == later(100)
    assert next_reminder(accept, first, CFG) == later(200)
    assert next_reminder(accept, later(400), CFG) == later(500)  # past due: still repeating


def test_a_reminder_of_an_earlier_clock_does_not_count() -> None:
    accepted = walk(case("dispatched", assignees=("w-1",)), [Accept(actor=WORKER)], every_s=600)
    arrive = only(accepted)  # started at 10 min, 30 minutes long: every 10 min
    assert next_reminder(arrive, later(590), CFG) == later(1200)


def test_reminder_intervals_keep_within_the_shortest_and_longest() -> None:
    tight = SlaSettings(reminders_per_window=10)
    assert next_reminder(only(case()), None, tight) == later(60)  # 30 s would be below 1 min
    slow = only(case("on_site", category="other", severity=Severity.LOW))  # 72 h to resolve
    assert next_reminder(slow, None, CFG) == later(4 * 60 * MIN)


def test_after_a_long_outage_one_reminder_is_due_not_every_missed_one() -> None:
    accept = only(case())
    back = later(3600)
    first = next_reminder(accept, later(100), CFG)
    assert first <= back
    assert next_reminder(accept, back, CFG) == back + timedelta(seconds=100)


def test_clocks_and_reminders_count_elapsed_time_whatever_zone_their_times_are_in() -> None:
    # Read from a session in a zone with summer time, a day before its clocks go forward.
    spring = datetime(2027, 3, 27, 12, tzinfo=UTC)
    berlin = ZoneInfo("Europe/Berlin")
    slow = case("on_site", category="other", severity=Severity.LOW)  # 72 h to resolve
    resolve = only(slow.model_copy(update={"opened_at": spring.astimezone(berlin)}))
    assert resolve.due_at == spring + timedelta(hours=72)
    daily = SlaSettings(longest_reminder_min=24 * 60)
    first = next_reminder(resolve, None, daily)
    assert first == spring + timedelta(hours=24)
    assert next_reminder(resolve, first.astimezone(berlin), daily) == spring + timedelta(hours=48)
