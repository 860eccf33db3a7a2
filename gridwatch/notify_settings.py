"""Notification channels: the `notify` section of gridwatch's settings."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from gridwatch.push_hosts import BROWSER_PUSH_HOSTS
from gridwatch.sections import Section


class NotifySettings(Section):
    """The webhook for SMS and voice gateways, Web Push's keys, and how hard to try."""

    webhook_url: str | None = Field(
        None,
        title="Webhook URL",
        description="Notifications are POSTed as JSON here (SMS or voice gateway); off if unset.",
    )
    webhook_secret: SecretStr = Field(
        SecretStr(""),
        title="Webhook secret",
        description="Key of the X-Gridwatch-Signature header: hex HMAC-SHA256 of the body.",
    )
    timeout_s: float = Field(5.0, gt=0, title="Timeout", description="Seconds per attempt.")
    retries: int = Field(
        3, ge=0, title="Retries", description="Attempts after the first one fails."
    )
    backoff_s: float = Field(
        0.5, ge=0, title="Backoff", description="Seconds before the first retry; doubles each time."
    )
    backoff_max_s: float = Field(
        30.0, ge=0, title="Backoff cap", description="Longest wait between two attempts."
    )
    max_age_s: int = Field(
        3600,
        gt=0,
        title="Max age",
        description="Older notifications are not sent by webhook or Web Push (say after an "
        "outage, or the first start reading the topic from its beginning).",
    )
    vapid_private_key: SecretStr = Field(
        SecretStr(""),
        title="VAPID private key",
        description="Web Push signing key: the raw P-256 private key, base64url (32 bytes); "
        "Web Push is off while empty.",
    )
    vapid_subject: str | None = Field(
        None,
        title="VAPID subject",
        description="Contact the push services may use (mailto: or https: URL).",
    )
    push_hosts: tuple[str, ...] = Field(
        BROWSER_PUSH_HOSTS,
        title="Push service hosts",
        description="Where a browser's Web Push subscription may point: a host "
        "(`fcm.googleapis.com`) or `*.` and a domain (`*.notify.windows.com`), https on port "
        "443; or an origin (`http://127.0.0.1:8080`) allowing exactly it, for a local test "
        "receiver. Other endpoints are refused when a browser subscribes.",
    )

    @field_validator("push_hosts")
    @classmethod
    def _plain_hosts(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        """Lower case; a wildcard only as a leading `*.` of a domain."""
        for host in hosts:
            if not host.strip("*.") or "*" in host.removeprefix("*."):
                raise ValueError(f"{host!r}: give a host, '*.' and a domain, or an origin")
        return tuple(host.lower() for host in hosts)
