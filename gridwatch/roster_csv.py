"""A roster as CSV, one row a person-shift, the way a spreadsheet exports a county's list."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import date, time
from typing import TypeVar

from pydantic import ValidationError

from gridwatch.people import Person, Roster, RosterDocument, Shift
from gridwatch.roster_file import RosterFileError, first_problem

T = TypeVar("T")
PERSON_COLUMNS = ("id", "name", "role", "level", "node", "phone")
SHIFT_COLUMNS = ("weekdays", "dates", "start", "end")
COLUMNS = PERSON_COLUMNS + SHIFT_COLUMNS
ALL = ",".join(COLUMNS)
# A list without phone numbers or without shifts on dates may leave those columns out.
OPTIONAL = frozenset({"phone", "dates"})
# Excel opens a UTF-8 file without it as GBK, garbling every Chinese name.
BOM = "\ufeff"
# Items of a weekdays or dates cell: `1;2;3`, `1,2,3`, `1 2 3`, or with Chinese marks.
ITEMS = re.compile(r"[;,\s，、；]+")
WEEKDAYS = re.compile(r"(\d)(?:-(\d))?")
# ISO, or as a zh-CN spreadsheet writes a date cell back out: 2026/1/5.
DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
# A spreadsheet writes time cells back out as 8:00 or 8:00:00.
CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
# An 11-digit mobile number in a column not formatted as text is saved like this, digits lost.
SHORTENED_NUMBER = re.compile(r"\d(?:\.\d+)?E\+\d+", re.IGNORECASE)


def _items(cell: str) -> list[str]:
    """The non-empty items of a list cell."""
    return [item for item in ITEMS.split(cell) if item]


def parse_weekdays(cell: str) -> tuple[int, ...]:
    """ISO weekdays from `1;3;5`, `1,2,3`, `1 3 5` or ranges such as `1-5`."""
    days: list[int] = []
    for item in _items(cell):
        found = WEEKDAYS.fullmatch(item)
        if found is None or int(found[2] or found[1]) < int(found[1]):
            raise ValueError(
                f"{item!r} is not a weekday (1 Monday … 7 Sunday) or a range such as 1-5;"
                " if a spreadsheet made a date of a range, format the column as text"
            )
        days.extend(range(int(found[1]), int(found[2] or found[1]) + 1))
    return tuple(days)


def parse_dates(cell: str) -> tuple[date, ...]:
    """Dates from `2026-12-31;2027-01-01` (also `2026/12/31`)."""
    dates: list[date] = []
    for item in _items(cell):
        found = DATE.fullmatch(item)
        try:
            if found is None:
                raise ValueError("expected YYYY-MM-DD")
            dates.append(date(int(found[1]), int(found[2]), int(found[3])))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not a date: {exc}") from None
    return tuple(dates)


def parse_clock(cell: str) -> time:
    """A wall-clock time from `08:00`, `8:00` or `08:00:00`."""
    found = CLOCK.fullmatch(cell)
    try:
        if found is None:
            raise ValueError("expected HH:MM")
        return time(int(found[1]), int(found[2]), int(found[3] or 0))
    except ValueError as exc:
        raise ValueError(f"{cell!r} is not a time of day: {exc}") from None


def parse_phone(cell: str) -> str | None:
    """The phone number, None when empty; refused when a spreadsheet has shortened it."""
    if SHORTENED_NUMBER.fullmatch(cell):
        raise ValueError(f"{cell!r} lost its digits in a spreadsheet: format the column as text")
    return cell or None


def _decode(data: bytes) -> str:
    """The file's text, UTF-8 with or without a BOM; RosterFileError otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterFileError(
            data.count(b"\n", 0, exc.start) + 1,
            'not UTF-8: save the sheet as "CSV UTF-8" (Excel) or with UTF-8 encoding (WPS)',
        ) from None


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each record that is not blank, its cells stripped, with the line it starts on."""
    # Strict: a quote left open would otherwise swallow the rest of the file into one cell.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    try:
        for record in reader:
            cells = [cell.strip() for cell in record]
            if any(cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise RosterFileError(line, f"not CSV: {exc}") from None


def _header(line: int, cells: list[str]) -> list[str]:
    """The column names, checked; a blank name marks a column that must stay empty."""
    names = [cell.lower() for cell in cells]
    for i, name in enumerate(names):
        if name and name not in COLUMNS:
            raise RosterFileError(line, f"unknown column {name!r}: the columns are {ALL}")
        if name and name in names[:i]:
            raise RosterFileError(line, f"column {name!r} twice")
    missing = [c for c in COLUMNS if c not in names and c not in OPTIONAL]
    if missing:
        raise RosterFileError(line, f"missing column {', '.join(missing)}")
    return names


def _cells(line: int, names: list[str], record: list[str]) -> dict[str, str]:
    """The record's cells by column name; absent columns and trailing cells left off are ''."""
    for i, cell in enumerate(record):
        if cell and (i >= len(names) or not names[i]):
            raise RosterFileError(line, f"{cell!r} in column {i + 1}, which has no name")
    cells = dict.fromkeys(COLUMNS, "")
    cells.update((name, cell) for name, cell in zip(names, record, strict=False) if name)
    return cells


def _cell(line: int, cells: dict[str, str], column: str, parse: Callable[[str], T]) -> T:
    """One cell parsed; a RosterFileError naming its line and column otherwise."""
    try:
        return parse(cells[column])
    except ValueError as exc:
        raise RosterFileError(line, f"{column}: {exc}") from None


def _row(line: int, cells: dict[str, str]) -> tuple[Person, Shift | None]:
    """The person of a row and its shift, None when the shift columns are empty."""
    person = {c: cells[c] for c in PERSON_COLUMNS} | {
        "phone": _cell(line, cells, "phone", parse_phone)
    }
    shift: dict[str, object] = {"person_id": cells["id"]}
    parsers: dict[str, Callable[[str], object]] = {
        "weekdays": parse_weekdays,
        "dates": parse_dates,
        "start": parse_clock,
        "end": parse_clock,
    }
    for column, parse in parsers.items():
        if cells[column]:
            shift[column] = _cell(line, cells, column, parse)
    try:
        return Person.model_validate(person), (
            Shift.model_validate(shift) if len(shift) > 1 else None
        )
    except ValidationError as exc:
        raise RosterFileError(line, first_problem(exc, _by_column(exc))) from None


def _by_column(exc: ValidationError) -> str:
    """The column of the first problem, or the model's name for a rule across columns."""
    loc = exc.errors()[0]["loc"]
    return str(loc[0]) if loc else exc.title.lower()


def read_roster_csv(data: bytes, county: str) -> RosterDocument:
    """The CSV roster in `data` for `county`; RosterFileError names the first problem's line."""
    records = _records(_decode(data))
    first = next(records, None)
    if first is None:
        raise RosterFileError(1, f"empty file: the first row names the columns, {ALL}")
    names = _header(*first)
    people: dict[str, tuple[int, Person, bool]] = {}
    shifts: list[Shift] = []
    for line, record in records:
        person, shift = _row(line, _cells(line, names, record))
        if person.id in people:
            _check_repeat(line, person, shift, *people[person.id])
        else:
            people[person.id] = (line, person, shift is not None)
        if shift is not None:
            shifts.append(shift)
    if not people:
        raise RosterFileError(first[0] + 1, "no people: nothing below the header")
    return RosterDocument(
        county=county,
        people=tuple(person for _, person, _ in people.values()),
        roster=Roster(shifts=tuple(shifts)),
    )


def _check_repeat(
    line: int, person: Person, shift: Shift | None, first_line: int, first: Person, had_shift: bool
) -> None:
    """A person on a second row must be the same and there for another shift."""
    for column in PERSON_COLUMNS:
        if getattr(person, column) != getattr(first, column):
            raise RosterFileError(
                line,
                f"{column}: {getattr(person, column)!r}, but {getattr(first, column)!r}"
                f" for {person.id} on line {first_line}",
            )
    if shift is None or not had_shift:
        raise RosterFileError(
            line,
            f"id: {person.id} is on line {first_line} already; a person is on several rows"
            " only for several shifts",
        )


def _clock(value: time) -> str:
    """A time of day as a spreadsheet shows it: HH:MM, or HH:MM:SS when it has seconds."""
    return value.isoformat("minutes" if value.second == 0 else "seconds")


def render_roster_csv(doc: RosterDocument) -> bytes:
    """The roster as CSV with a BOM, a row a shift; a person without shifts gets one row."""
    out = io.StringIO()
    # "\n" rather than CSV's "\r\n": a committed file then diffs line by line.
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for person in doc.people:
        who = [getattr(person, c) or "" for c in PERSON_COLUMNS]
        shifts = doc.roster.shifts_of(person.id)
        for shift in shifts:
            days = ";".join(str(d) for d in shift.weekdays)
            dates = ";".join(d.isoformat() for d in shift.dates)
            writer.writerow([*who, days, dates, _clock(shift.start), _clock(shift.end)])
        if not shifts:
            writer.writerow(who + [""] * len(SHIFT_COLUMNS))
    return (BOM + out.getvalue()).encode("utf-8")
