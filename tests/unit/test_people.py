"""People and duty: shifts in Asia/Shanghai time, across midnight, by weekday or date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from gridwatch.people import (
    DutyOverride,
    Person,
    Roster,
    RosterDocument,
    Shift,
    duty_now,
    on_duty,
    unknown_nodes,
)
from tests.support import small_grid

SHANGHAI = ZoneInfo("Asia/Shanghai")
WORKER = Person(id="W-1", name="王芳", role="worker", level="grid", node="west")
MONDAY, TUESDAY, SUNDAY = 1, 2, 7


def local(day: str, clock: str) -> datetime:
    """A moment given as local date and wall-clock time in the county."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), SHANGHAI)


def duty(*shifts: dict[str, Any]) -> Roster:
    return Roster(shifts=tuple(Shift(person_id="W-1", **s) for s in shifts))


DAY_SHIFT = duty({"weekdays": [MONDAY], "start": "08:00", "end": "20:00"})
NIGHT_SHIFT = duty({"weekdays": [MONDAY], "start": "20:00", "end": "08:00"})


@pytest.mark.parametrize(
    ("day", "clock", "expected"),
    [
        ("2026-11-30", "07:59:59", False),
        ("2026-11-30", "08:00", True),  # start is inclusive
        ("2026-11-30", "19:59:59", True),
        ("2026-11-30", "20:00", False),  # end is exclusive
        ("2026-12-01", "10:00", False),  # Tuesday
        ("2026-12-07", "10:00", True),  # the next Monday
    ],
)
def test_a_day_shift_covers_its_weekday_from_start_to_end(
    day: str, clock: str, expected: bool
) -> None:
    assert on_duty(WORKER, DAY_SHIFT, local(day, clock)) is expected


@pytest.mark.parametrize(
    ("day", "clock", "expected"),
    [
        ("2026-11-30", "19:59", False),
        ("2026-11-30", "20:00", True),
        ("2026-11-30", "23:59:59", True),
        ("2026-12-01", "00:00", True),  # Tuesday, still Monday's shift
        ("2026-12-01", "07:59:59", True),
        ("2026-12-01", "08:00", False),
        ("2026-11-30", "07:00", False),  # Monday morning belongs to a Sunday shift
        ("2026-12-01", "20:00", False),  # no shift starts on Tuesday
    ],
)
def test_a_night_shift_runs_past_midnight_into_the_next_day(
    day: str, clock: str, expected: bool
) -> None:
    assert on_duty(WORKER, NIGHT_SHIFT, local(day, clock)) is expected


def test_a_sunday_night_shift_runs_into_monday() -> None:
    roster = duty({"weekdays": [SUNDAY], "start": "22:00", "end": "06:00"})
    assert on_duty(WORKER, roster, local("2026-11-30", "05:00"))
    assert not on_duty(WORKER, roster, local("2026-11-30", "06:00"))
    assert not on_duty(WORKER, roster, local("2026-12-01", "05:00"))


def test_a_dated_night_shift_runs_into_the_new_year() -> None:
    roster = duty({"dates": ["2026-12-31"], "start": "18:00", "end": "02:00"})
    assert on_duty(WORKER, roster, local("2027-01-01", "01:30"))
    assert not on_duty(WORKER, roster, local("2027-01-01", "18:30"))
    assert not on_duty(WORKER, roster, local("2026-12-30", "18:30"))


def test_start_equal_to_end_is_a_24_hour_shift() -> None:
    roster = duty({"weekdays": [MONDAY], "start": "08:00", "end": "08:00"})
    assert on_duty(WORKER, roster, local("2026-11-30", "08:00"))
    assert on_duty(WORKER, roster, local("2026-12-01", "07:59"))
    assert not on_duty(WORKER, roster, local("2026-12-01", "08:00"))
    assert not on_duty(WORKER, roster, local("2026-11-30", "07:59"))


def test_duty_is_judged_in_county_time_whatever_zone_the_moment_is_given_in() -> None:
    # 00:30 UTC on Monday is 08:30 in the county; 23:30 UTC on Sunday is Monday 07:30 there.
    assert on_duty(WORKER, DAY_SHIFT, datetime(2026, 11, 30, 0, 30, tzinfo=UTC))
    assert not on_duty(WORKER, DAY_SHIFT, datetime(2026, 11, 29, 23, 30, tzinfo=UTC))
    new_york = datetime(2026, 11, 29, 19, 30, tzinfo=ZoneInfo("America/New_York"))
    assert on_duty(WORKER, DAY_SHIFT, new_york)  # Monday 08:30 in the county


def test_the_county_keeps_utc_plus_8_in_summer_and_winter() -> None:
    # Zones with daylight saving move a wall-clock shift against UTC; Asia/Shanghai does not.
    summer = datetime(2026, 7, 6, 0, 0, tzinfo=UTC)  # a Monday
    winter = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
    for monday in (summer, winter):
        assert on_duty(WORKER, DAY_SHIFT, monday)
        assert not on_duty(WORKER, DAY_SHIFT, monday - timedelta(seconds=1))
        assert on_duty(WORKER, DAY_SHIFT, monday + timedelta(hours=12) - timedelta(seconds=1))
        assert not on_duty(WORKER, DAY_SHIFT, monday + timedelta(hours=12))


def test_only_the_persons_own_shifts_count() -> None:
    other = Person(id="W-2", name="李强", role="worker", level="grid", node="east")
    assert not on_duty(other, DAY_SHIFT, local("2026-11-30", "10:00"))
    both = duty(
        {"weekdays": [MONDAY], "start": "08:00", "end": "12:00"},
        {"weekdays": [TUESDAY], "start": "08:00", "end": "12:00"},
    )
    assert on_duty(WORKER, both, local("2026-12-01", "09:00"))


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        on_duty(WORKER, DAY_SHIFT, datetime(2026, 11, 30, 10, 0))


@pytest.mark.parametrize(
    "fields",
    [
        {"start": "08:00", "end": "20:00"},  # neither weekdays nor dates
        {"weekdays": [1], "dates": ["2026-12-31"], "start": "08:00", "end": "20:00"},
        {"weekdays": [0], "start": "08:00", "end": "20:00"},
        {"weekdays": [8], "start": "08:00", "end": "20:00"},
        {"weekdays": [1], "start": time(8, tzinfo=timezone(timedelta(hours=8))), "end": "20:00"},
    ],
)
def test_a_shift_without_a_clear_calendar_or_with_offsets_is_refused(
    fields: dict[str, Any],
) -> None:
    with pytest.raises(ValidationError):
        Shift(person_id="W-1", **fields)


def test_weekdays_are_kept_sorted_and_once_so_equal_shifts_are_equal() -> None:
    a = Shift(person_id="W-1", weekdays=[3, 1, 3], start=time(8), end=time(20))
    b = Shift(person_id="W-1", weekdays=[1, 3], start=time(8), end=time(20))
    assert a == b
    assert a.weekdays == (1, 3)


@pytest.mark.parametrize(
    ("role", "level"),
    [("worker", "village"), ("mediator", "grid"), ("operator", "township"), ("admin", "grid")],
)
def test_a_role_at_a_level_it_does_not_belong_to_is_refused(role: str, level: str) -> None:
    with pytest.raises(ValidationError, match="belongs to level"):
        Person.model_validate({"id": "x", "name": "x", "role": role, "level": level, "node": "n"})


def test_a_roster_document_refuses_repeated_ids_and_shifts_of_strangers() -> None:
    shift = Shift(person_id="W-9", weekdays=[1], start=time(8), end=time(20))
    with pytest.raises(ValidationError, match="more than once: W-1"):
        RosterDocument(county="c", people=(WORKER, WORKER), roster=Roster())
    with pytest.raises(ValidationError, match="not listed: W-9"):
        RosterDocument(county="c", people=(WORKER,), roster=Roster(shifts=(shift,)))


def test_unknown_nodes_names_people_attached_to_nothing_in_the_grid() -> None:
    people = [
        WORKER,
        Person(id="M-1", name="张敏", role="mediator", level="village", node="T01-V01"),
        Person(id="S-1", name="刘军", role="supervisor", level="township", node="T01"),
        Person(id="O-1", name="陈静", role="operator", level="county", node="county"),
        Person(id="W-9", name="赵磊", role="worker", level="grid", node="nowhere"),
    ]
    assert unknown_nodes(people, small_grid()) == ["W-9: no grid node 'nowhere' in the grid"]


@pytest.mark.parametrize(
    ("override", "clock", "expected"),
    [
        (None, "10:00", True),
        (None, "21:00", False),
        (DutyOverride(on_duty=False), "10:00", False),  # off duty until pressed again
        (DutyOverride(on_duty=True), "21:00", True),
        (DutyOverride(on_duty=True, until=local("2026-11-30", "22:00")), "21:59", True),
        (DutyOverride(on_duty=True, until=local("2026-11-30", "22:00")), "22:00", False),  # lapsed
        (DutyOverride(on_duty=False, until=local("2026-11-30", "09:00")), "10:00", True),
    ],
)
def test_an_override_in_force_wins_over_the_roster(
    override: DutyOverride | None, clock: str, expected: bool
) -> None:
    assert duty_now(WORKER, DAY_SHIFT, override, local("2026-11-30", clock)) is expected
