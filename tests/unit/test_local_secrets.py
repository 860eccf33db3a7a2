"""Secrets generated once per machine: the same value for every process, mode 0600."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from gridwatch.local_secrets import local_secret


def test_a_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = local_secret(tmp_path, "jwt.key")
    assert len(first) >= 48 and local_secret(tmp_path, "jwt.key") == first
    path = tmp_path / "secrets" / "jwt.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["jwt.key"]  # no spare file left


def test_processes_starting_together_all_get_the_one_secret(tmp_path: Path) -> None:
    with ProcessPoolExecutor(4) as pool:
        got = list(pool.map(local_secret, [tmp_path] * 16, ["demo-password"] * 16))
    assert len(set(got)) == 1 and got[0]
