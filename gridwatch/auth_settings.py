"""Settings of accounts and tokens: signing key, lifetimes, login throttling, issuer."""

from __future__ import annotations

from pydantic import Field, SecretStr

from gridwatch.sections import Section


class AuthSettings(Section):
    """How the API signs tokens, how long they last and how it slows down password guessing."""

    secret_key: SecretStr | None = Field(
        None,
        title="Signing key",
        description="HS256 key of access and refresh tokens; unset, the API generates one at "
        "start in <run_dir>/secrets/jwt.key (mode 0600) and reuses it. Set it, the same on "
        "every replica, anywhere beyond one developer's machine.",
    )
    access_token_minutes: int = Field(
        15, ge=1, title="Access token lifetime", description="Minutes an access token is valid."
    )
    refresh_token_days: int = Field(
        14, ge=1, title="Refresh token lifetime", description="Days a refresh token is valid."
    )
    refresh_retry_s: int = Field(
        60,
        ge=0,
        title="Refresh retry",
        description="Seconds a just-rotated refresh token may be presented again (its answer "
        "was lost on a weak signal) and get a new pair instead of revoking the sign-in.",
    )
    max_failures: int = Field(
        5,
        ge=1,
        title="Failed logins allowed",
        description="Failed logins per account, and per client address, within the window "
        "after which further attempts answer 429 until the oldest one leaves the window.",
    )
    failure_window_s: int = Field(
        900, ge=1, title="Failed-login window", description="Seconds failed logins are counted."
    )
    issuer: str = Field("gridwatch", title="Issuer", description="The tokens' `iss` claim.")
    audience: str = Field("gridwatch-api", title="Audience", description="The tokens' `aud` claim.")
