"""Accounts, refresh tokens, failed logins and the audit log; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from gridwatch.accounts import User

_USER_COLUMNS = "id, username, display_name, role, node, person_id, active"


async def insert_user(conn: psycopg.AsyncConnection, user: User, *, password_hash: str) -> None:
    """Add an account; a taken username raises psycopg.errors.UniqueViolation."""
    await conn.execute(
        "INSERT INTO users (id, username, display_name, role, node, person_id, active,"
        " password_hash) VALUES (%(id)s, %(username)s, %(display_name)s, %(role)s, %(node)s,"
        " %(person_id)s, %(active)s, %(password_hash)s)",
        user.model_dump() | {"password_hash": password_hash},
    )


async def get_login(conn: psycopg.AsyncConnection, username: str) -> tuple[User, str] | None:
    """The account with this username and its password hash; None if there is none."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE username = %s".encode(),
            (username,),
        )
        row = await cur.fetchone()
    if row is None:
        return None
    password_hash = row.pop("password_hash")
    return User.model_validate(row), password_hash


async def get_user(conn: psycopg.AsyncConnection, user_id: str) -> User | None:
    """The account with this id; None if there is none."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = %s".encode(), (user_id,))
        row = await cur.fetchone()
    return None if row is None else User.model_validate(row)


async def list_users(conn: psycopg.AsyncConnection) -> list[User]:
    """Every account, by username."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username".encode())
        return [User.model_validate(row) for row in await cur.fetchall()]


async def record_login_failure(
    conn: psycopg.AsyncConnection, *, username: str, client: str, at: datetime
) -> None:
    """Count one failed login against the account name and the client address."""
    await conn.execute(
        "INSERT INTO login_failures (at, username, client) VALUES (%s, %s, %s)",
        (at, username, client),
    )


async def login_failures(
    conn: psycopg.AsyncConnection, *, username: str, client: str, since: datetime
) -> tuple[list[datetime], list[datetime]]:
    """Times of failed logins since `since`: for the account name, and from the client address."""
    cur = await conn.execute(
        "SELECT username = %(username)s, client = %(client)s, at FROM login_failures"
        " WHERE at > %(since)s AND (username = %(username)s OR client = %(client)s)",
        {"username": username, "client": client, "since": since},
    )
    rows = await cur.fetchall()
    return [at for same_user, _, at in rows if same_user], [at for _, same, at in rows if same]


async def clear_login_failures(conn: psycopg.AsyncConnection, username: str) -> None:
    """Forget the account's failed logins after it signed in."""
    await conn.execute("DELETE FROM login_failures WHERE username = %s", (username,))


async def insert_refresh_token(
    conn: psycopg.AsyncConnection, *, jti: str, family: str, user_id: str, expires_at: datetime
) -> None:
    """Remember an issued refresh token so it can be rotated once and revoked."""
    await conn.execute(
        "INSERT INTO refresh_tokens (jti, family, user_id, expires_at) VALUES (%s, %s, %s, %s)",
        (jti, family, user_id, expires_at),
    )


async def lock_refresh_token(conn: psycopg.AsyncConnection, jti: str) -> dict[str, Any] | None:
    """The refresh token's row, locked until the transaction ends; None if never issued."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT jti, family, user_id, expires_at, revoked_at FROM refresh_tokens"
            " WHERE jti = %s FOR UPDATE",
            (jti,),
        )
        return await cur.fetchone()


async def revoke_refresh_token(conn: psycopg.AsyncConnection, jti: str, *, at: datetime) -> None:
    """Mark one refresh token used up."""
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = %s WHERE jti = %s AND revoked_at IS NULL",
        (at, jti),
    )


async def revoke_family(conn: psycopg.AsyncConnection, family: str, *, at: datetime) -> int:
    """Revoke every live token of a family (a sign-in and its rotations); how many were live."""
    cur = await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = %s WHERE family = %s AND revoked_at IS NULL",
        (at, family),
    )
    return cur.rowcount


async def record_audit(
    conn: psycopg.AsyncConnection,
    *,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
    client: str | None = None,
) -> None:
    """Append one line to the audit log: who did what to what, from where."""
    await conn.execute(
        "INSERT INTO audit_log (actor, action, target, detail, client) VALUES (%s, %s, %s, %s, %s)",
        (actor, action, target, Jsonb(detail or {}), client),
    )


async def add_roster_accounts(conn: psycopg.AsyncConnection, *, password_hash: str) -> int:
    """An account for each active roster person who has none, named by the person's id."""
    cur = await conn.execute(
        "INSERT INTO users (id, username, display_name, role, node, person_id, password_hash)"
        " SELECT 'u-' || lower(p.id), p.id, p.name, p.role, p.node, p.id, %s FROM people p"
        " WHERE p.active AND NOT EXISTS"
        " (SELECT 1 FROM users u WHERE u.person_id = p.id OR u.username = p.id)"
        " ON CONFLICT DO NOTHING",
        (password_hash,),
    )
    return cur.rowcount


async def incident_audit(
    conn: psycopg.AsyncConnection, incident_id: str, photos: list[str], *, limit: int
) -> list[dict[str, Any]]:
    """Audit lines about an incident and reads of its photos, oldest first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT at, actor, action, target, detail, client FROM audit_log"
            " WHERE target = %s OR (action = 'photo.read' AND target = ANY(%s))"
            " ORDER BY at, id LIMIT %s",
            (f"incident:{incident_id}", photos, limit),
        )
        return await cur.fetchall()


async def display_names(conn: psycopg.AsyncConnection, ids: Collection[str]) -> dict[str, str]:
    """The display name of each account id, or roster person id with an account, in `ids`."""
    wanted = list(ids)
    cur = await conn.execute(
        "SELECT id, person_id, display_name FROM users"
        " WHERE id = ANY(%(ids)s) OR person_id = ANY(%(ids)s)",
        {"ids": wanted},
    )
    names: dict[str, str] = {}
    for account, person, name in await cur.fetchall():
        names[account] = name
        if person is not None:
            names[person] = name
    return {k: v for k, v in names.items() if k in set(wanted)}


async def accounts_under(
    conn: psycopg.AsyncConnection, nodes: Collection[str] | None, *, limit: int
) -> list[User]:
    """Active accounts attached to one of `nodes` (None: anywhere), by role then name."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE active"
            " AND (%(all)s OR node = ANY(%(nodes)s))"
            " ORDER BY role, display_name, id LIMIT %(limit)s".encode(),
            {"all": nodes is None, "nodes": list(nodes or ()), "limit": limit},
        )
        return [User.model_validate(row) for row in await cur.fetchall()]
