"""`gridwatch people import` and `people list` through the CLI, on a database of their own."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gridwatch.cli import main
from gridwatch.people import RosterDocument
from gridwatch.settings import Settings
from tests.conftest import REPO, environ, isolated_env, private_database

pytestmark = pytest.mark.integration
SAMPLE = REPO / "gridwatch" / "data" / "tangyin" / "roster-sample.json"
SAMPLE_CSV = REPO / "deploy" / "roster" / "roster-sample.csv"


@pytest.fixture(scope="module")
def run_env(
    run_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The run's variables with a database of this module's own: other modules enrol people."""
    env = run_env | isolated_env(tmp_path_factory.mktemp("people"))
    with private_database(env):
        yield env


@pytest.fixture(scope="module")
def settings(run_env: dict[str, str]) -> Settings:
    """Settings of this module's database."""
    with environ(run_env):
        return Settings()


def people(run_env: dict[str, str], *args: str) -> int:
    with environ(run_env):
        return main(["people", *args])


def counts(settings: Settings) -> tuple[int, int, int]:
    """Active people, inactive people, shifts."""
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE active), count(*) FILTER (WHERE NOT active),"
            " (SELECT count(*) FROM shifts) FROM people"
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def test_the_sample_roster_imports_once_and_again_without_change(
    run_env: dict[str, str], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = RosterDocument.model_validate_json(SAMPLE.read_text(encoding="utf-8"))
    total, shifts = len(doc.people), len(doc.roster.shifts)
    assert people(run_env, "import", str(SAMPLE)) == 0
    first = capsys.readouterr().out
    assert people(run_env, "import", str(SAMPLE)) == 0
    again = capsys.readouterr().out
    assert counts(settings) == (total, 0, shifts)
    # A run of its own may find the roster already imported by another module.
    assert first.startswith(f"{total} people (") and first.endswith(f"{shifts} shifts\n")
    assert again == f"{total} people (0 new, 0 changed, 0 deactivated), {shifts} shifts\n"
    assert people(run_env, "list", "--node", doc.people[0].node) == 0
    listed = capsys.readouterr().out.splitlines()
    worker = doc.people[0]
    assert listed == [f"{worker.id}\tworker\tgrid\t{worker.node}\t{worker.name}"]


def test_replace_deactivates_those_missing_and_drops_their_shifts(
    run_env: dict[str, str], settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    kept = data["people"][:3]
    data["people"] = kept
    ids = {p["id"] for p in kept}
    data["roster"]["shifts"] = [s for s in data["roster"]["shifts"] if s["person_id"] in ids]
    small = tmp_path / "small.json"
    small.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert people(run_env, "import", str(SAMPLE)) == 0
    total = counts(settings)[0]
    capsys.readouterr()
    try:
        assert people(run_env, "import", str(small), "--replace") == 0
        out = capsys.readouterr().out
        assert f"(0 new, 0 changed, {total - 3} deactivated), 3 shifts" in out
        assert counts(settings) == (3, total - 3, 3)
    finally:
        # Back to the whole sample for the other modules of the run.
        assert people(run_env, "import", str(SAMPLE), "--replace") == 0
    assert f"(0 new, {total - 3} changed, 0 deactivated)" in capsys.readouterr().out
    assert counts(settings)[:2] == (total, 0)


def test_a_bad_line_is_named(run_env: dict[str, str], tmp_path: Path) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].replace('"role":"worker"', '"role":"boss"')
    bad = tmp_path / "bad.json"
    bad.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(SystemExit, match=r"bad\.json: line 5: people\.2\.role: Input should be"):
        people(run_env, "import", str(bad))


def test_a_file_that_is_not_json_is_named_with_its_line(
    run_env: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": "gridwatch.roster/1",\n"county": 410523,\n"people": [}', "utf-8")
    with pytest.raises(SystemExit, match=r"broken\.json: line 3: not JSON: Expecting value"):
        people(run_env, "import", str(broken))


def test_the_sample_as_csv_imports_as_the_json_did(
    run_env: dict[str, str], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert people(run_env, "import", str(SAMPLE)) == 0
    total, _, shifts = counts(settings)
    capsys.readouterr()
    # Nobody new, changed or missing, and as many shifts: the same roster, row for row.
    assert people(run_env, "import", str(SAMPLE_CSV), "--replace") == 0
    assert capsys.readouterr().out == (
        f"{total} people (0 new, 0 changed, 0 deactivated), {shifts} shifts\n"
    )
    assert counts(settings) == (total, 0, shifts)


def test_a_csv_from_a_spreadsheet_imports_a_second_shift_and_a_new_name(
    run_env: dict[str, str], settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header, first, *rest = SAMPLE_CSV.read_text(encoding="utf-8-sig").splitlines()
    pid, name, *cells = first.split(",")
    renamed = ",".join([pid, name + "二", *cells])
    # The same person on a second row, on duty through New Year's Eve night.
    eve = ",".join([pid, name + "二", *cells[:4], "", "2026/12/31", "20:00", "8:00"])
    edited = tmp_path / "Roster.CSV"
    # As Excel saves "CSV UTF-8": a byte-order mark and CRLF line ends.
    edited.write_bytes("\r\n".join(["\ufeff" + header, renamed, eve, *rest, ""]).encode())
    assert people(run_env, "import", str(SAMPLE_CSV)) == 0
    total, _, shifts = counts(settings)
    capsys.readouterr()
    try:
        assert people(run_env, "import", str(edited)) == 0
        out = capsys.readouterr().out
        assert out == f"{total} people (0 new, 1 changed, 0 deactivated), {shifts + 1} shifts\n"
        with psycopg.connect(settings.postgres.conninfo()) as conn:
            got = conn.execute(
                "SELECT name, dates::text[], start_time::text FROM people"
                " JOIN shifts ON person_id = people.id WHERE people.id = %s ORDER BY start_time",
                (pid,),
            ).fetchall()
        assert got == [(name + "二", [], "08:00:00"), (name + "二", ["2026-12-31"], "20:00:00")]
    finally:
        assert people(run_env, "import", str(SAMPLE_CSV)) == 0
    assert counts(settings) == (total, 0, shifts)


def test_a_bad_csv_row_is_named_by_line_and_column(run_env: dict[str, str], tmp_path: Path) -> None:
    lines = SAMPLE_CSV.read_text(encoding="utf-8-sig").splitlines()
    lines[4] = lines[4].replace(",08:00,", ",8 am,")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(SystemExit) as caught:
        people(run_env, "import", str(bad))
    assert str(caught.value.code).startswith(
        f"{bad}: line 5: start: '8 am' is not a time of day: expected HH:MM"
    )


def test_a_file_neither_csv_nor_json_is_refused(run_env: dict[str, str], tmp_path: Path) -> None:
    sheet = tmp_path / "roster.xlsx"
    sheet.write_bytes(SAMPLE_CSV.read_bytes())
    with pytest.raises(SystemExit, match=r"roster\.xlsx: a roster file's name ends in \.csv or"):
        people(run_env, "import", str(sheet))


def test_an_unknown_node_is_refused(run_env: dict[str, str], tmp_path: Path) -> None:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    data["people"][0]["node"] = "8831aaaaaaaaaaa"
    stray = tmp_path / "stray.json"
    stray.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    who = data["people"][0]["id"]
    with pytest.raises(SystemExit, match=f"{who}: no grid node '8831aaaaaaaaaaa' in the grid"):
        people(run_env, "import", str(stray))


def test_an_account_is_linked_to_a_person_on_the_roster(
    run_env: dict[str, str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = RosterDocument.model_validate_json(SAMPLE.read_text(encoding="utf-8"))
    worker = doc.people[1]
    assert people(run_env, "import", str(SAMPLE)) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase\n"))
    name = f"w-{uuid.uuid4().hex[:6]}"
    add = ["users", "add", name, "--role", "worker", "--node", worker.node]
    with environ(run_env):
        assert main([*add, "--person", worker.id]) == 0
        with pytest.raises(SystemExit, match="no person 'W-nobody' on the roster"):
            main([*add, "--person", "W-nobody"])
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        row = conn.execute("SELECT person_id FROM users WHERE username = %s", (name,)).fetchone()
    assert row == (worker.id,)
