"""Upserts where the newer row wins: redelivered or late records never roll a row back."""

from __future__ import annotations


def newest_wins(table: str, names: str, *, newest: str) -> bytes:
    """Insert a row keyed by the first of `names`; on conflict, the newer `newest` wins.

    An equal `newest` is the same record again, or a later one of the same moment, which the
    topic's order delivers last: it wins too, so redelivery rewrites the same values.
    """
    columns = names.split()
    key = columns[0]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(f'%({c})s' for c in columns)}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates} "
        f"WHERE EXCLUDED.{newest} >= {table}.{newest}"
    ).encode()
