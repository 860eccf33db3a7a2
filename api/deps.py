"""Request dependencies: pool, grid, event log, photo store and caller, from the app's state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import psycopg
from fastapi import Depends, Query, Request
from fastapi.requests import HTTPConnection
from fastapi.security import OAuth2PasswordBearer
from psycopg_pool import AsyncConnectionPool

from api.auth import TokenError, decode_token
from api.errors import ApiError
from gridwatch.accounts import User
from gridwatch.grid.model import Grid
from gridwatch.people import Role
from gridwatch.ports import PhotoStore, RecordSink
from gridwatch.records import ReporterRole
from gridwatch.settings import Settings
from gridwatch.store.users import get_user

# auto_error=False: a missing token answers in the one error shape, not FastAPI's own.
_bearer = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Reports know no admin role: an admin files as an operator.
_REPORTER_ROLES: dict[Role, ReporterRole] = {
    "worker": "worker",
    "mediator": "mediator",
    "supervisor": "supervisor",
    "operator": "operator",
    "admin": "operator",
}


def get_grid(request: Request) -> Grid:
    """The grid loaded at start."""
    grid: Grid = request.app.state.grid
    return grid


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_pool(request: Request) -> AsyncConnectionPool:
    """The PostgreSQL pool opened at start."""
    pool: AsyncConnectionPool = request.app.state.pool
    return pool


async def get_conn(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    """A pooled connection for the length of one request."""
    async with get_pool(request).connection() as conn:
        yield conn


def get_sink(request: Request) -> RecordSink:
    """The event log records are sent to; 503 when the app was built without one."""
    sink: RecordSink | None = request.app.state.sink
    if sink is None:
        raise ApiError(503, "no_event_log", "this API runs without an event log")
    return sink


def get_photos(request: Request) -> PhotoStore:
    """Where report photos are kept; 503 when the app was built without a store."""
    photos: PhotoStore | None = request.app.state.photos
    if photos is None:
        raise ApiError(503, "no_photo_store", "this API runs without a photo store")
    return photos


@dataclass(frozen=True)
class Reporter:
    """Who is filing: an account id and the role it has."""

    account: str
    role: ReporterRole


def get_signing_key(request: Request) -> str:
    """The key tokens are signed with, loaded at start."""
    key: str = request.app.state.signing_key
    return key


def client_address(request: Request) -> str:
    """The caller's address as the server sees it, for throttling and the audit log."""
    return request.client.host if request.client is not None else "unknown"


async def user_from_token(connection: HTTPConnection, token: str) -> User:
    """The active account an access token names; ApiError 401 otherwise (HTTP or WebSocket)."""
    state = connection.app.state
    try:
        claims = decode_token(token, "access", auth=state.settings.auth, key=state.signing_key)
    except TokenError as exc:
        raise ApiError(401, exc.code, exc.msg, headers=_CHALLENGE) from None
    pool: AsyncConnectionPool = state.pool
    # A pool connection of its own: the handler's stays free of this read's transaction.
    async with pool.connection() as conn:
        user = await get_user(conn, claims["sub"])
    if user is None or not user.active:
        msg = "the token's account no longer exists or is disabled"
        raise ApiError(401, "not_authenticated", msg, headers=_CHALLENGE)
    return user


async def get_current_user(
    request: Request, token: Annotated[str | None, Depends(_bearer)]
) -> User:
    """The signed-in caller from `Authorization: Bearer`; 401 without a valid access token."""
    if token is None:
        msg = "sign in first: send Authorization: Bearer <access token>"
        raise ApiError(401, "not_authenticated", msg, headers=_CHALLENGE)
    return await user_from_token(request, token)


async def get_optional_user(
    request: Request, token: Annotated[str | None, Depends(_bearer)]
) -> User | None:
    """The signed-in caller, or None without a token; a bad token is still a 401."""
    return None if token is None else await user_from_token(request, token)


async def get_user_by_header_or_query(
    request: Request,
    token: Annotated[str | None, Depends(_bearer)],
    access_token: Annotated[
        str | None,
        Query(description="The access token, for what cannot send a header (an `<img src>`)."),
    ] = None,
) -> User:
    """The signed-in caller from `Authorization: Bearer` or `?access_token=`; 401 without."""
    token = token if token is not None else access_token
    if token is None:
        msg = "sign in first: send Authorization: Bearer <access token> or ?access_token="
        raise ApiError(401, "not_authenticated", msg, headers=_CHALLENGE)
    return await user_from_token(request, token)


CurrentUser = Annotated[User, Depends(get_current_user)]
# Only for reads a browser makes by address alone: the token in a URL reaches more places.
UrlUser = Annotated[User, Depends(get_user_by_header_or_query)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency passing only signed-in callers with one of `roles`; 403 for the rest."""

    async def check(user: CurrentUser) -> User:
        if user.role not in roles:
            needed = " or ".join(roles)
            raise ApiError(403, "forbidden", f"this needs the role {needed}; you are a {user.role}")
        return user

    return check


# The desks: people who oversee an area rather than work a cell.
DeskUser = Annotated[User, Depends(require_roles("supervisor", "operator", "admin"))]


def get_reporter(user: OptionalUser) -> Reporter:
    """The caller filing: the signed-in account with its role, else an anonymous citizen."""
    if user is None:
        return Reporter(account="anonymous", role="citizen")
    return Reporter(account=user.id, role=_REPORTER_ROLES[user.role])


GridDep = Annotated[Grid, Depends(get_grid)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PoolDep = Annotated[AsyncConnectionPool, Depends(get_pool)]
# Ended with the handler, before the answer is sent: a change is committed (or its failure
# answered) before the caller hears 2xx, and reads the caller makes next see it.
ConnDep = Annotated[psycopg.AsyncConnection, Depends(get_conn, scope="function")]
SinkDep = Annotated[RecordSink, Depends(get_sink)]
PhotosDep = Annotated[PhotoStore, Depends(get_photos)]
ReporterDep = Annotated[Reporter, Depends(get_reporter)]
