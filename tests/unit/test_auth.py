"""Password hashes, token round trips and refusals, the signing key file, throttle arithmetic."""

from __future__ import annotations

import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from pydantic import SecretStr

from api.auth import (
    TokenError,
    decode_token,
    hash_password,
    issue_access,
    issue_refresh,
    signing_key,
    verify_password,
)
from gridwatch.accounts import User, retry_after
from gridwatch.auth_settings import AuthSettings
from tests.support import T0

AUTH = AuthSettings()
KEY = "k" * 48
# PyJWT checks `iat` and `exp` against the real clock.
NOW = datetime.now(UTC)
USER = User(id="u-1", username="wang", display_name="Wang", role="worker", node="a1")


def test_a_hash_verifies_its_password_only() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "correct horse battery!")
    assert not verify_password(None, "correct horse battery")
    assert not verify_password("not a hash", "correct horse battery")


def test_an_access_token_round_trips_its_claims() -> None:
    now = NOW
    issued = issue_access(USER, auth=AUTH, key=KEY, now=now)
    claims = decode_token(issued.token, "access", auth=AUTH, key=KEY)
    assert (claims["sub"], claims["role"], claims["node"]) == ("u-1", "worker", "a1")
    assert (claims["iss"], claims["aud"], claims["jti"]) == (
        "gridwatch",
        "gridwatch-api",
        issued.jti,
    )
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert issued.expires_at == now + timedelta(minutes=15)


def test_an_expired_token_is_refused_as_expired() -> None:
    issued = issue_access(USER, auth=AUTH, key=KEY, now=T0 - timedelta(days=1))
    with pytest.raises(TokenError) as caught:
        decode_token(issued.token, "access", auth=AUTH, key=KEY)
    assert caught.value.code == "token_expired"


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: jwt.encode(
            jwt.decode(token, options={"verify_signature": False}) | {"role": "admin"},
            "another key with enough length to be a key",
            algorithm="HS256",
        ),
        lambda token: jwt.encode(
            jwt.decode(token, options={"verify_signature": False}) | {"aud": "elsewhere"},
            KEY,
            algorithm="HS256",
        ),
    ],
    ids=["bad-signature", "other-key", "other-audience"],
)
def test_a_tampered_token_is_refused(forge: Callable[[str], str]) -> None:
    token = issue_access(USER, auth=AUTH, key=KEY, now=NOW).token
    with pytest.raises(TokenError) as caught:
        decode_token(forge(token), "access", auth=AUTH, key=KEY)
    assert caught.value.code == "not_authenticated"


def test_a_refresh_token_is_no_access_token() -> None:
    issued = issue_refresh("u-1", "fam", auth=AUTH, key=KEY, now=NOW)
    assert decode_token(issued.token, "refresh", auth=AUTH, key=KEY)["fam"] == "fam"
    with pytest.raises(TokenError, match="not an access token"):
        decode_token(issued.token, "access", auth=AUTH, key=KEY)


def test_without_a_configured_key_one_is_generated_once_and_private(tmp_path: Path) -> None:
    key = signing_key(AUTH, tmp_path)
    path = tmp_path / "secrets" / "jwt.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 32
    assert signing_key(AUTH, tmp_path) == key
    assert signing_key(AuthSettings(secret_key=SecretStr("configured")), tmp_path) == "configured"


WINDOW = timedelta(minutes=15)


def test_fewer_failures_than_the_maximum_do_not_throttle() -> None:
    failures = [T0 - timedelta(minutes=m) for m in (1, 2, 3, 4)]
    assert retry_after(failures, now=T0, max_failures=5, window=WINDOW) is None


def test_the_maximum_throttles_until_the_oldest_counted_failure_leaves_the_window() -> None:
    failures = [T0 - timedelta(minutes=m) for m in (10, 1, 2, 3, 4)]
    assert retry_after(failures, now=T0, max_failures=5, window=WINDOW) == 5 * 60


def test_failures_outside_the_window_do_not_count() -> None:
    failures = [T0 - timedelta(minutes=m) for m in (16, 20, 1, 2, 3, 4)]
    assert retry_after(failures, now=T0, max_failures=5, window=WINDOW) is None


def test_beyond_the_maximum_the_wait_follows_the_newest_failures() -> None:
    failures = [T0 - timedelta(minutes=m) for m in (14, 13, 5, 4, 3, 2, 1)]
    # The five newest are 5..1 minutes old: one more try once the 5-minute-old one is 15.
    assert retry_after(failures, now=T0, max_failures=5, window=WINDOW) == 10 * 60
    assert retry_after(failures[:1], now=T0, max_failures=1, window=WINDOW) == 60
