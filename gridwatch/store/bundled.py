"""The embedded mode's own PostgreSQL: the pgserver wheel's server, its data in the run folder.

The same SQL as the distributed mode's server, so the store has one implementation. The server
listens on a unix socket only (no TCP port to collide with), trusts local connections, and is
stopped when the last process of this machine using it exits; after a SIGKILL it is still
running and the next start joins it.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from gridwatch.settings import PostgresSettings

SUPERUSER = "postgres"
# Only names the socket file (.s.PGSQL.5432): the bundled server listens on no TCP port.
SOCKET_PORT = 5432
# As root, pgserver runs postgres as the user `pgserver`, which must read and enter every
# folder above its data and binaries; pgserver would widen them itself, and we refuse instead.
OTHERS_ENTER = stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH


# pgserver's list of the processes using the server (pgserver.utils.DiskList), in its data.
HANDLES = ".handle_pids.json"


class BundledStoreError(RuntimeError):
    """The bundled server cannot run here; the message says why and what to do instead."""


@dataclass
class BundledPostgres:
    """A running bundled server and the settings that reach it."""

    settings: PostgresSettings
    server: Any

    def stop(self) -> None:
        """Stop the server, unless another process on this machine still uses it."""
        self.server.cleanup()


def start_bundled(pgdata: Path, database: str) -> BundledPostgres:
    """Start the server whose data is in `pgdata` (or join it), with `database` created."""
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.postgres_server import get_server

    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        for path in (pgdata, POSTGRES_BIN_PATH):
            _check_others_may_enter(path)
    _forget_dead_users(pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    settings = PostgresSettings(
        host=str(socket_dir), port=SOCKET_PORT, user=SUPERUSER, database=database, bundled=True
    )
    _create_database(settings)
    return BundledPostgres(settings, server)


def _check_others_may_enter(path: Path) -> None:
    """Refuse (instead of chmod) when a folder above `path` is closed to other users."""
    for folder in Path(path).resolve().parents:
        mode = folder.stat().st_mode
        if mode & OTHERS_ENTER != OTHERS_ENTER:
            raise BundledStoreError(
                f"as root, the bundled PostgreSQL runs as the user 'pgserver', which cannot "
                f"enter {folder} (mode {stat.filemode(mode)}): run gridwatch as an ordinary "
                f"user, or `chmod go+rx {folder}`, or use a PostgreSQL server "
                f"(GRIDWATCH_POSTGRES__BUNDLED=false and GRIDWATCH_POSTGRES__HOST/PORT/…)"
            )


def _forget_dead_users(pgdata: Path) -> None:
    """Drop processes that died without saying so from pgserver's list of the server's users.

    pgserver stops the server when its last listed user exits, and a process killed with
    SIGKILL never leaves the list: without this, the server would then outlive every run.
    """
    listed = pgdata / HANDLES
    if not listed.exists():
        return
    pids = json.loads(listed.read_text())
    alive = [pid for pid in pids if _running(pid)]
    if alive != pids:
        listed.write_text(json.dumps(alive))


def _running(pid: int) -> bool:
    """Whether a process with this id exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _create_database(settings: PostgresSettings) -> None:
    """Create the gridwatch database on first start (migrations then fill it)."""
    with psycopg.connect(settings.conninfo(database="postgres"), autocommit=True) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (settings.database,)
        ).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings.database)))
