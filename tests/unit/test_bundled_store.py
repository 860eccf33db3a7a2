"""The bundled store's choices and guards, without starting a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from gridwatch.settings import PostgresSettings
from gridwatch.store.bundled import (
    HANDLES,
    BundledStoreError,
    _check_others_may_enter,
    _forget_dead_users,
)


@pytest.mark.parametrize(
    ("fields", "command", "bundled"),
    [
        ({}, "run", True),
        ({}, "api", False),
        ({}, "users", False),
        ({"host": "db.example"}, "run", False),
        ({"port": 5433}, "run", False),
        ({"bundled": False}, "run", False),
        ({"bundled": True}, "users", True),
        ({"bundled": True, "port": 5433}, "api", True),
    ],
)
def test_run_takes_the_bundled_store_unless_a_server_is_named(
    fields: dict[str, object], command: str, bundled: bool
) -> None:
    assert PostgresSettings.model_validate(fields).wants_bundled(command) is bundled


def test_a_folder_closed_to_other_users_is_named_not_opened(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    (closed / "run").mkdir(parents=True)
    closed.chmod(0o700)
    with pytest.raises(BundledStoreError, match=f"cannot enter {closed} .*chmod go\\+rx"):
        _check_others_may_enter(closed / "run" / "pgdata")
    assert closed.stat().st_mode & 0o777 == 0o700


def test_an_open_path_passes() -> None:
    with tempfile.TemporaryDirectory(prefix="gridwatch-open-") as made:
        open_folder = Path(made)
        open_folder.chmod(0o755)
        _check_others_may_enter(open_folder / "pgdata")


def test_processes_killed_without_a_word_leave_the_list_of_users(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = tmp_path / HANDLES
    listed.write_text(json.dumps([int(dead.stdout), os.getpid()]))
    _forget_dead_users(tmp_path)
    assert json.loads(listed.read_text()) == [os.getpid()]


def test_no_list_is_no_change(tmp_path: Path) -> None:
    _forget_dead_users(tmp_path)
    assert not (tmp_path / HANDLES).exists()
