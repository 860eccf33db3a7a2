"""Signing in: OAuth2 password flow, refresh-token rotation with reuse detection, sign-out."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import TokenError, decode_token, issue_access, issue_refresh, verify_password
from api.deps import ConnDep, CurrentUser, client_address, get_settings, get_signing_key
from api.errors import ApiError
from api.schemas import RefreshIn, TokenPair
from gridwatch.accounts import User, retry_after
from gridwatch.store.users import (
    clear_login_failures,
    get_login,
    get_user,
    insert_refresh_token,
    lock_refresh_token,
    login_failures,
    record_audit,
    record_login_failure,
    revoke_family,
    revoke_refresh_token,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/auth", tags=["auth"])

# The same answer for an unknown user, a wrong password and a disabled account.
_BAD_LOGIN = "wrong username or password"


async def _issue_pair(
    request: Request, conn: psycopg.AsyncConnection, user: User, family: str
) -> TokenPair:
    auth, key, now = get_settings(request).auth, get_signing_key(request), datetime.now(UTC)
    access = issue_access(user, auth=auth, key=key, now=now)
    refresh = issue_refresh(user.id, family, auth=auth, key=key, now=now)
    await insert_refresh_token(
        conn, jti=refresh.jti, family=family, user_id=user.id, expires_at=refresh.expires_at
    )
    return TokenPair(
        access_token=access.token,
        refresh_token=refresh.token,
        expires_in=auth.access_token_minutes * 60,
    )


async def _wait_s(conn: psycopg.AsyncConnection, request: Request, username: str) -> int | None:
    """Seconds this account or address must wait before trying again; None if it may try now."""
    auth, now = get_settings(request).auth, datetime.now(UTC)
    window = timedelta(seconds=auth.failure_window_s)
    failures = await login_failures(
        conn, username=username, client=client_address(request), since=now - window
    )
    waits = [
        retry_after(times, now=now, max_failures=auth.max_failures, window=window)
        for times in failures
    ]
    return max((w for w in waits if w is not None), default=None)


@router.post("/token", response_model=TokenPair, summary="Sign in (OAuth2 password flow)")
async def sign_in(
    request: Request, conn: ConnDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenPair:
    """An access token and a refresh token for a username and password."""
    client, username = client_address(request), form.username
    target = f"user:{username}"
    wait = await _wait_s(conn, request, username)
    if wait is not None:
        await record_audit(
            conn, actor=username, action="auth.login.throttled", target=target, client=client
        )
        await conn.commit()
        msg = f"too many failed sign-ins; try again in {wait} s"
        raise ApiError(429, "too_many_attempts", msg, headers={"Retry-After": str(wait)})
    found = await get_login(conn, username)
    user, password_hash = found if found is not None else (None, None)
    # argon2 takes tens of milliseconds of CPU: off the event loop, for every outcome alike.
    matches = await asyncio.to_thread(verify_password, password_hash, form.password)
    if user is None or not user.active or not matches:
        await record_login_failure(conn, username=username, client=client, at=datetime.now(UTC))
        await record_audit(
            conn, actor=username, action="auth.login.failed", target=target, client=client
        )
        await conn.commit()
        raise ApiError(
            401, "invalid_credentials", _BAD_LOGIN, headers={"WWW-Authenticate": "Bearer"}
        )
    await clear_login_failures(conn, username)
    await record_audit(
        conn, actor=user.id, action="auth.login", target=f"user:{user.id}", client=client
    )
    log.info("user %s signed in from %s", user.id, client)
    return await _issue_pair(request, conn, user, uuid.uuid4().hex)


async def _locked_refresh(
    request: Request, conn: psycopg.AsyncConnection, token: str
) -> dict[str, Any]:
    """The stored row of a valid refresh token, locked; 401 when it is not one."""
    try:
        claims = decode_token(
            token, "refresh", auth=get_settings(request).auth, key=get_signing_key(request)
        )
    except TokenError as exc:
        raise ApiError(401, exc.code, exc.msg) from None
    row = await lock_refresh_token(conn, claims["jti"])
    if row is None:
        raise ApiError(401, "not_authenticated", "this refresh token was never issued here")
    return row


@router.post("/refresh", response_model=TokenPair, summary="Trade a refresh token for a new pair")
async def refresh(request: Request, conn: ConnDep, body: RefreshIn) -> TokenPair:
    """Rotate: the refresh token is used up; using it again revokes its whole sign-in."""
    row = await _locked_refresh(request, conn, body.refresh_token)
    now, client, user_id = datetime.now(UTC), client_address(request), row["user_id"]
    target = f"user:{user_id}"
    if row["revoked_at"] is not None:
        revoked = await revoke_family(conn, row["family"], at=now)
        retry = timedelta(seconds=get_settings(request).auth.refresh_retry_s)
        if revoked and now - row["revoked_at"] <= retry:
            # The phone presents the token it has just rotated: the answer with the new pair
            # was lost on a weak signal. Its unused successor is revoked; a fresh pair follows.
            return await _reissue(request, conn, row, now=now)
        detail = {"family": row["family"], "revoked": revoked}
        await record_audit(
            conn,
            actor=user_id,
            action="auth.refresh.reused",
            target=target,
            detail=detail,
            client=client,
        )
        await conn.commit()
        log.warning("user %s: refresh token %s reused; family revoked", user_id, row["jti"])
        msg = "this refresh token was already used; its sign-in is revoked, sign in again"
        raise ApiError(401, "token_reused", msg)
    await revoke_refresh_token(conn, row["jti"], at=now)
    return await _reissue(request, conn, row, now=now, action="auth.refresh")


async def _reissue(
    request: Request,
    conn: psycopg.AsyncConnection,
    row: dict[str, Any],
    *,
    now: datetime,
    action: str = "auth.refresh.retry",
) -> TokenPair:
    """A new pair in the sign-in's family, audited; 401 if the account is gone."""
    user_id = row["user_id"]
    user = await get_user(conn, user_id)
    if user is None or not user.active:
        await conn.commit()
        raise ApiError(401, "not_authenticated", "the account no longer exists or is disabled")
    await record_audit(
        conn, actor=user_id, action=action, target=f"user:{user_id}", client=client_address(request)
    )
    return await _issue_pair(request, conn, user, row["family"])


@router.post("/logout", status_code=204, response_class=Response, summary="Sign out")
async def logout(request: Request, conn: ConnDep, body: RefreshIn) -> Response:
    """Revoke the refresh token and every token rotated from the same sign-in."""
    row = await _locked_refresh(request, conn, body.refresh_token)
    await revoke_family(conn, row["family"], at=datetime.now(UTC))
    user_id = row["user_id"]
    await record_audit(
        conn,
        actor=user_id,
        action="auth.logout",
        target=f"user:{user_id}",
        client=client_address(request),
    )
    return Response(status_code=204)


@router.get("/me", response_model=User, summary="Who is signed in")
async def read_me(user: CurrentUser) -> User:
    """The account the access token belongs to."""
    return user
