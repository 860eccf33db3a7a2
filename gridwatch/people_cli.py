"""`gridwatch people`: import a roster file (CSV or JSON) into the store, list who is on it."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

import psycopg

from gridwatch.grid.model import Grid
from gridwatch.people import RosterDocument, unknown_nodes
from gridwatch.roster_csv import read_roster_csv
from gridwatch.roster_file import RosterFileError, read_roster
from gridwatch.settings import Settings
from gridwatch.store.people import import_roster, list_people
from gridwatch.store.users import record_audit


def read_roster_file(settings: Settings, file: str) -> RosterDocument:
    """The roster in `file` (.csv or .json), valid and fitting the grid; SystemExit if not."""
    path = Path(file)
    kind = path.suffix.lower()
    if kind not in (".csv", ".json"):
        raise SystemExit(f"{file}: a roster file's name ends in .csv or .json")
    grid = Grid.load(settings.grid.path)
    try:
        data = path.read_bytes()
        # A CSV has no county column: its county-level people are the grid's county's.
        doc = (
            read_roster_csv(data, county=grid.county)
            if kind == ".csv"
            else read_roster(data.decode("utf-8"))
        )
    except (OSError, UnicodeDecodeError, RosterFileError) as exc:
        raise SystemExit(f"{file}: {exc}") from None
    problems = unknown_nodes(doc.people, grid)
    if problems:
        more = f"\n... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise SystemExit(f"{file}: not in the grid:\n" + "\n".join(problems[:10]) + more)
    return doc


async def people_command(
    settings: Settings, args: argparse.Namespace, doc: RosterDocument | None
) -> int:
    """`people list`, or `people import` of `doc`, read and checked before."""
    async with await psycopg.AsyncConnection.connect(settings.postgres.conninfo()) as conn:
        if doc is None:
            for p in await list_people(conn, node=args.node):
                sys.stdout.write(f"{p.id}\t{p.role}\t{p.level}\t{p.node}\t{p.name}\n")
            return 0
        counts = await import_roster(conn, doc, replace=args.replace)
        await record_audit(
            conn,
            actor=f"cli:{getpass.getuser()}",
            action="roster.import",
            target=f"roster:{doc.county}",
            detail=counts._asdict() | {"file": str(args.file), "replace": args.replace},
        )
        await conn.commit()
    sys.stdout.write(
        f"{counts.people} people ({counts.added} new, {counts.changed} changed,"
        f" {counts.deactivated} deactivated), {counts.shifts} shifts\n"
    )
    return 0
