"""Reading a CSV roster: rows to people and shifts, and the line and column of a problem."""

from __future__ import annotations

from datetime import date, time

import pytest

from gridwatch.people import Person, Roster, RosterDocument, Shift
from gridwatch.roster_csv import read_roster_csv, render_roster_csv
from gridwatch.roster_file import RosterFileError

HEADER = "id,name,role,level,node,phone,weekdays,dates,start,end"
WORKER = "W-1,王芳,worker,grid,west,13800138000,1-6,,08:00,20:00"
SUPERVISOR = "S-1,李强,supervisor,township,t1,,1 3 5,,20:00,8:00"
ADMIN = "A-1,张伟,admin,county,C,,,,,"


def read(*rows: str, header: str = HEADER) -> RosterDocument:
    return read_roster_csv("\n".join((header, *rows)).encode("utf-8"), county="C")


def problem(*rows: str, header: str = HEADER) -> str:
    with pytest.raises(RosterFileError) as caught:
        read(*rows, header=header)
    return str(caught.value)


def test_rows_become_people_and_shifts() -> None:
    doc = read(WORKER, SUPERVISOR, ADMIN)
    assert doc.county == "C"
    assert doc.people == (
        Person(
            id="W-1", name="王芳", role="worker", level="grid", node="west", phone="13800138000"
        ),
        Person(id="S-1", name="李强", role="supervisor", level="township", node="t1"),
        Person(id="A-1", name="张伟", role="admin", level="county", node="C"),
    )
    assert doc.roster == Roster(
        shifts=(
            Shift(person_id="W-1", weekdays=(1, 2, 3, 4, 5, 6), start=time(8), end=time(20)),
            Shift(person_id="S-1", weekdays=(1, 3, 5), start=time(20), end=time(8)),
        )
    )


@pytest.mark.parametrize(
    ("cell", "days"),
    [("1,2,3,4,5", (1, 2, 3, 4, 5)), ("1-3;6-7", (1, 2, 3, 6, 7)), ("7、1", (1, 7)), ("4", (4,))],
)
def test_weekdays_are_lists_ranges_or_both(cell: str, days: tuple[int, ...]) -> None:
    doc = read(f'W-1,王芳,worker,grid,west,,"{cell}",,08:00,20:00')
    assert doc.roster.shifts[0].weekdays == days


def test_dates_and_times_as_a_spreadsheet_writes_them_back() -> None:
    doc = read("W-1,王芳,worker,grid,west,,,2026-12-31;2027/1/1,8:00:00,20:30")
    [shift] = doc.roster.shifts
    assert shift.dates == (date(2026, 12, 31), date(2027, 1, 1))
    assert (shift.start, shift.end) == (time(8), time(20, 30))


def test_a_person_with_several_shifts_is_on_several_rows() -> None:
    doc = read(WORKER, "W-1,王芳,worker,grid,west,13800138000,,2026-12-31,20:00,08:00")
    assert [p.id for p in doc.people] == ["W-1"]
    assert [s.dates for s in doc.roster.shifts_of("W-1")] == [(), (date(2026, 12, 31),)]


def test_rows_of_one_person_that_disagree_are_refused() -> None:
    other = "W-1,王芳芳,worker,grid,west,13800138000,7,,08:00,20:00"
    assert problem(WORKER, ADMIN, other) == ("line 4: name: '王芳芳', but '王芳' for W-1 on line 2")


def test_a_person_without_shifts_is_on_one_row() -> None:
    assert problem(ADMIN, WORKER, ADMIN).startswith("line 4: id: A-1 is on line 2 already;")


@pytest.mark.parametrize("cell", ["0-8", "1-9"])
def test_a_weekday_out_of_range_is_named(cell: str) -> None:
    bad = WORKER.replace("1-6", cell)
    assert problem(WORKER.replace("W-1", "W-0"), bad).startswith("line 3: weekdays: Input should")


@pytest.mark.parametrize("cell", ["6-Jan", "6-1", "周一", "1--3"])
def test_a_cell_that_is_no_weekday_is_named(cell: str) -> None:
    message = problem(WORKER.replace("1-6", cell))
    assert message.startswith(f"line 2: weekdays: {cell!r} is not a weekday")


@pytest.mark.parametrize(("cell", "why"), [("25:00", "hour must be in 0..23"), ("8h", "HH:MM")])
def test_a_bad_time_is_named(cell: str, why: str) -> None:
    message = problem(WORKER.replace("20:00", cell))
    assert message.startswith(f"line 2: end: {cell!r} is not a time of day")
    assert why in message


def test_a_bad_date_is_named() -> None:
    message = problem("W-1,王芳,worker,grid,west,,,2026-02-30,08:00,20:00")
    assert message == "line 2: dates: '2026-02-30' is not a date: day is out of range for month"


def test_half_a_shift_is_named_by_its_missing_column() -> None:
    assert problem(WORKER.replace(",20:00", ",")) == "line 2: end: Field required"
    no_days = problem(WORKER.replace("1-6", ""))
    assert no_days.startswith("line 2: shift: Value error, a shift lists either weekdays or dates")


def test_a_rule_of_the_person_is_named() -> None:
    assert problem(WORKER.replace("worker", "boss")).startswith("line 2: role: Input should be")
    message = problem(WORKER, ADMIN.replace("county,C", "grid,west"))
    assert message.startswith("line 3: person: Value error, a admin belongs to level county")


def test_a_phone_number_a_spreadsheet_shortened_is_refused() -> None:
    message = problem(WORKER.replace("13800138000", "1.38001E+10"))
    assert message.startswith("line 2: phone: '1.38001E+10' lost its digits")


def test_a_missing_column_is_named() -> None:
    header = HEADER.replace(",start", "")
    assert problem(ADMIN.replace(",,,,", ",,,"), header=header) == "line 1: missing column start"


def test_phone_and_dates_may_be_left_out_and_columns_come_in_any_order() -> None:
    doc = read(
        "李强,S-1,t1,township,supervisor,20:00,08:00,1-7",
        header=("name,id,node,level,role,start,end,weekdays"),
    )
    assert doc.people[0].id == "S-1"
    assert doc.roster.shifts[0].weekdays == (1, 2, 3, 4, 5, 6, 7)


def test_an_unknown_or_repeated_column_is_refused() -> None:
    assert problem(WORKER, header=HEADER.replace("weekdays", "weekday")).startswith(
        "line 1: unknown column 'weekday': the columns are id,name,"
    )
    assert problem(WORKER, header=HEADER + ",name") == "line 1: column 'name' twice"


def test_a_value_outside_the_named_columns_is_refused() -> None:
    assert problem(WORKER + ",extra") == "line 2: 'extra' in column 11, which has no name"
    # Empty cells there, as a spreadsheet may export them, are fine; so are missing ones.
    assert len(read(WORKER + ",,", "A-1,张伟,admin,county,C").people) == 2


def test_a_byte_order_mark_and_windows_line_ends_are_read() -> None:
    data = "\ufeff" + "\r\n".join((HEADER, WORKER, ADMIN)) + "\r\n"
    assert read_roster_csv(data.encode("utf-8"), county="C") == read(WORKER, ADMIN)


def test_an_empty_file_or_one_without_rows_is_refused() -> None:
    for data in (b"", b"\xef\xbb\xbf\r\n", b" \n"):
        with pytest.raises(RosterFileError, match=r"^line 1: empty file: the first row names"):
            read_roster_csv(data, county="C")
    assert problem(header=HEADER) == "line 2: no people: nothing below the header"


def test_lines_count_blank_lines_and_line_breaks_inside_a_cell() -> None:
    first = 'W-0,"王\n芳",worker,grid,west,,1-6,,08:00,20:00'
    assert problem(first, "", ",,,", WORKER.replace("1-6", "x")) == (
        "line 6: weekdays: 'x' is not a weekday (1 Monday … 7 Sunday) or a range such as 1-5;"
        " if a spreadsheet made a date of a range, format the column as text"
    )


def test_a_file_that_is_not_utf8_is_named_with_its_line() -> None:
    data = "\n".join((HEADER, ADMIN, WORKER)).encode("gbk")
    with pytest.raises(RosterFileError, match=r'^line 2: not UTF-8: save the sheet as "CSV UTF-8"'):
        read_roster_csv(data, county="C")


@pytest.mark.parametrize(
    ("row", "why"),
    [('"A-1,张伟,admin', "unexpected end of data"), ('"A-1"x,张伟', "',' expected after '\"'")],
)
def test_a_quote_out_of_place_is_named_on_the_line_it_is(row: str, why: str) -> None:
    with pytest.raises(RosterFileError) as caught:
        read(WORKER, row, WORKER, WORKER)
    assert str(caught.value) == f"line 3: not CSV: {why}"


def test_what_is_written_reads_back() -> None:
    doc = read(
        WORKER,
        "W-1,王芳,worker,grid,west,13800138000,,2026-12-31;2027-01-01,20:00:30,08:00",
        SUPERVISOR,
        ADMIN,
    )
    written = render_roster_csv(doc)
    assert written.startswith("\ufeff".encode() + HEADER.encode() + b"\n")
    assert read_roster_csv(written, county="C") == doc
