"""`gridwatch users add`, `users list` and `users demo` through the CLI's entry point."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import psycopg
import pytest

from api.auth import verify_password
from gridwatch.cli import SAMPLE_ROSTER, main
from gridwatch.grid.model import Grid
from gridwatch.settings import Settings
from tests.conftest import environ, isolated_env, private_database

pytestmark = pytest.mark.integration


def users(
    run_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = ""
) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    with environ(run_env):
        return main(["users", *args])


def test_users_add_creates_an_account_that_can_sign_in(
    run_env: dict[str, str],
    settings: Settings,
    grid: Grid,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = f"li-{uuid.uuid4().hex[:6]}"
    cell = grid.cells[5].id
    args = ("add", name, "--role", "worker", "--node", cell, "--name", "Li Wei")
    assert users(run_env, monkeypatch, *args, stdin="a long passphrase\n") == 0
    user_id = capsys.readouterr().out.strip()
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        row = conn.execute(
            "SELECT id, display_name, role, node, password_hash FROM users WHERE username = %s",
            (name,),
        ).fetchone()
        audited = conn.execute(
            "SELECT action, detail->>'username' FROM audit_log WHERE target = %s",
            (f"user:{user_id}",),
        ).fetchall()
    assert row is not None
    assert row[:4] == (user_id, "Li Wei", "worker", cell)
    assert verify_password(row[4], "a long passphrase")
    assert audited == [("user.create", name)]
    assert users(run_env, monkeypatch, "list") == 0
    assert f"{name}\tworker\t{cell}\t{user_id}\tactive" in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(
    ("role", "node", "password", "refusal"),
    [
        ("worker", "CELL", "short", "at least 10 characters"),
        ("worker", "COUNTY", "a long passphrase", "a worker belongs to a grid node"),
        ("operator", "nowhere", "a long passphrase", "'nowhere' is not one"),
    ],
)
def test_users_add_refuses_weak_passwords_and_nodes_that_do_not_fit(
    run_env: dict[str, str],
    grid: Grid,
    monkeypatch: pytest.MonkeyPatch,
    role: str,
    node: str,
    password: str,
    refusal: str,
) -> None:
    node = {"CELL": grid.cells[0].id, "COUNTY": grid.county}.get(node, node)
    name = f"x-{uuid.uuid4().hex[:6]}"
    with pytest.raises(SystemExit, match=refusal):
        users(run_env, monkeypatch, "add", name, "--role", role, "--node", node, stdin=password)


def test_users_demo_gives_every_roster_person_one_account_with_the_generated_password(
    run_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A database of its own: the whole sample roster would otherwise reach other tests' dispatch.
    env = run_env | isolated_env(tmp_path)
    with private_database(env), environ(env):
        assert main(["people", "import", SAMPLE_ROSTER]) == 0
        assert main(["users", "demo"]) == 0
        assert main(["users", "demo"]) == 0
        secret = tmp_path / "secrets" / "demo-password"
        with psycopg.connect(Settings().postgres.conninfo()) as conn:
            people = conn.execute("SELECT count(*) FROM people WHERE active").fetchone()
            rows = conn.execute(
                "SELECT username, role, node, person_id, password_hash FROM users"
                " WHERE username = 'O-410523-D'"
            ).fetchall()
            accounts = conn.execute("SELECT count(*) FROM users").fetchone()
    out = capsys.readouterr().out.splitlines()
    assert people is not None and accounts == people
    assert out[-2:] == [
        f"{people[0]} accounts added; username = roster id, password in {secret}",
        f"0 accounts added; username = roster id, password in {secret}",
    ]
    [(username, role, node, person, hashed)] = rows
    assert (username, role, node, person) == ("O-410523-D", "operator", "410523", "O-410523-D")
    assert secret.stat().st_mode & 0o777 == 0o600
    assert verify_password(hashed, secret.read_text("ascii").strip())
