"""Reading a JSON roster file, with the line of the first problem when it does not validate."""

from __future__ import annotations

import json
from json import scanner
from json.decoder import JSONObject  # type: ignore[attr-defined]  # not in typeshed
from typing import Any

from pydantic import ValidationError

from gridwatch.people import RosterDocument


class RosterFileError(ValueError):
    """A roster file that cannot be read or is not a valid roster, at a line (1-based)."""

    def __init__(self, line: int, msg: str) -> None:
        super().__init__(f"line {line}: {msg}")
        self.line = line
        self.msg = msg


def _decode(text: str) -> tuple[Any, dict[int, int]]:
    """The JSON value and, by id() of each object in it, the offset its `{` is at."""
    starts: dict[int, int] = {}

    def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[dict[str, Any], int]:
        obj, end = JSONObject(s_and_end, *args)
        starts[id(obj)] = s_and_end[1] - 1
        return obj, end

    decoder = json.JSONDecoder()
    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    # Only the pure-Python scanner calls parse_object back; the C one ignores it.
    decoder.scan_once = scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text), starts


def _offset_of(data: Any, loc: tuple[int | str, ...], starts: dict[int, int]) -> int:
    """Offset of the innermost object along `loc` that the file really has."""
    offset = starts.get(id(data), 0)
    for key in loc:
        in_dict = isinstance(data, dict) and key in data
        in_list = isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data)
        if not (in_dict or in_list):
            break
        data = data[key]
        offset = starts.get(id(data), offset)
    return offset


def first_problem(exc: ValidationError, where: str) -> str:
    """`where: message` of the first validation error, counting the others."""
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {exc.errors()[0]['msg']}{more}"


def read_roster(text: str) -> RosterDocument:
    """The roster in `text` (format gridwatch.roster/1); RosterFileError names the first problem."""
    try:
        data, starts = _decode(text)
    except json.JSONDecodeError as exc:
        raise RosterFileError(exc.lineno, f"not JSON: {exc.msg} (column {exc.colno})") from None
    try:
        return RosterDocument.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        offset = _offset_of(data, tuple(first["loc"]), starts)
        where = ".".join(str(part) for part in first["loc"]) or "roster"
        line = text.count("\n", 0, offset) + 1
        raise RosterFileError(line, first_problem(exc, where)) from None
