"""Reading a roster file: the line of the first problem, for JSON and for the roster's rules."""

from __future__ import annotations

import pytest

from gridwatch.roster_file import RosterFileError, read_roster

HEAD = '{"schema": "gridwatch.roster/1", "county": "C",\n"people": [\n'
WORKER = '{"id":"W-1","name":"王芳","role":"worker","level":"grid","node":"west"}'
MEDIATOR = '{"id":"M-1","name":"李强","role":"mediator","level":"village","node":"v1"}'
SHIFT = '{"person_id":"W-1","weekdays":[1,2],"start":"08:00:00","end":"20:00:00"}'


def roster(*people: str, shifts: tuple[str, ...] = (SHIFT,)) -> str:
    return (
        HEAD
        + ",\n".join(people)
        + '\n],\n"roster": {"shifts": [\n'
        + ",\n".join(shifts)
        + "\n]}}\n"
    )


def problem(text: str) -> RosterFileError:
    with pytest.raises(RosterFileError) as caught:
        read_roster(text)
    return caught.value


def test_a_valid_roster_reads() -> None:
    doc = read_roster(roster(WORKER, MEDIATOR))
    assert [p.id for p in doc.people] == ["W-1", "M-1"]
    assert doc.roster.shifts_of("W-1")[0].weekdays == (1, 2)


def test_a_bad_person_is_named_by_its_line() -> None:
    error = problem(roster(WORKER, MEDIATOR.replace('"village"', '"grid"')))
    assert error.line == 4
    assert str(error).startswith("line 4: people.1: Value error, a mediator belongs to level")


def test_a_bad_shift_is_named_by_its_line() -> None:
    error = problem(roster(WORKER, shifts=(SHIFT, SHIFT.replace("[1,2]", "[8]"))))
    assert (error.line, error.msg.split(":")[0]) == (7, "roster.shifts.1.weekdays.0")


def test_several_problems_name_the_first_and_count_the_rest() -> None:
    error = problem(roster(WORKER.replace('"W-1"', '""'), MEDIATOR.replace('"v1"', '""')))
    assert error.line == 3
    assert error.msg.endswith("(and 1 more)")


def test_rules_across_the_document_point_at_its_start() -> None:
    error = problem(roster(WORKER, WORKER))
    assert str(error) == "line 1: roster: Value error, person ids listed more than once: W-1"


def test_broken_json_is_named_by_its_line() -> None:
    error = problem(roster(WORKER, MEDIATOR).replace(MEDIATOR, MEDIATOR[:-1]))
    assert error.line == 5
    assert error.msg.startswith("not JSON: Expecting ',' delimiter")
