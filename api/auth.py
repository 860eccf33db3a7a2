"""Password hashes (argon2), signed tokens (JWT HS256) and the API's signing key."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gridwatch.accounts import User
from gridwatch.auth_settings import AuthSettings
from gridwatch.local_secrets import local_secret

TokenType = Literal["access", "refresh"]
_ALGORITHM = "HS256"
_HASHER = PasswordHasher()
# Checked when the username is unknown, so that answer takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class TokenError(Exception):
    """A token that cannot be used: `code` is token_expired or not_authenticated."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


@dataclass(frozen=True)
class Issued:
    """A signed token and the claims the server keeps track of."""

    token: str
    jti: str
    expires_at: datetime


def hash_password(password: str) -> str:
    """The argon2id hash of a password, with its parameters and salt."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches; with no hash, spend the same time and say no."""
    try:
        _HASHER.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def _encode(claims: dict[str, Any], auth: AuthSettings, key: str, now: datetime) -> Issued:
    jti = uuid.uuid4().hex
    expires_at = claims.pop("exp")
    payload = claims | {
        "iat": now,
        "exp": expires_at,
        "jti": jti,
        "iss": auth.issuer,
        "aud": auth.audience,
    }
    return Issued(jwt.encode(payload, key, algorithm=_ALGORITHM), jti, expires_at)


def issue_access(user: User, *, auth: AuthSettings, key: str, now: datetime) -> Issued:
    """A short-lived access token carrying the user's id, role and node."""
    claims = {"typ": "access", "sub": user.id, "role": user.role, "node": user.node}
    exp = now + timedelta(minutes=auth.access_token_minutes)
    return _encode(claims | {"exp": exp}, auth, key, now)


def issue_refresh(
    user_id: str, family: str, *, auth: AuthSettings, key: str, now: datetime
) -> Issued:
    """A refresh token of a family (one sign-in and its rotations)."""
    exp = now + timedelta(days=auth.refresh_token_days)
    claims = {"typ": "refresh", "sub": user_id, "fam": family, "exp": exp}
    return _encode(claims, auth, key, now)


def decode_token(token: str, typ: TokenType, *, auth: AuthSettings, key: str) -> dict[str, Any]:
    """The claims of a valid token of type `typ`; TokenError otherwise."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            audience=auth.audience,
            issuer=auth.issuer,
            options={"require": ["exp", "iat", "jti", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token_expired", f"the {typ} token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError("not_authenticated", f"the {typ} token is not valid ({exc})") from None
    if claims.get("typ") != typ:
        raise TokenError("not_authenticated", f"not an {typ} token")
    return claims


def signing_key(auth: AuthSettings, run_dir: Path) -> str:
    """The configured key, or one generated once into <run_dir>/secrets/jwt.key (mode 0600)."""
    if auth.secret_key is not None:
        return auth.secret_key.get_secret_value()
    return local_secret(run_dir, "jwt.key")
