"""Notifications: what a person should hear about (value on `gridwatch.notifications`)."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

NotificationKind = Literal["assigned", "reminder", "escalated", "returned", "help", "ended"]


class Notification(BaseModel):
    """One message to one person about one incident, keyed by recipient on Kafka.

    `notification_id` is deterministic (incident, cause, recipient), so a dispatcher that
    retries after a crash produces the same id and every channel can drop the repeat.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["gridwatch.notification/1"] = Field(
        "gridwatch.notification/1", alias="schema", description="Record schema and version."
    )
    notification_id: str = Field(description="Deterministic id; the same cause gives the same id.")
    recipient: str = Field(description="Account id of the person (the record key).")
    incident_id: str = Field(description="The incident it is about.")
    cell_id: str = Field(description="The incident's cell.")
    kind: NotificationKind = Field(description="Why the person hears about it.")
    severity: int = Field(ge=1, le=4, description="The incident's severity, for sound and colour.")
    title: str = Field(max_length=120, description="One line for the lock screen.")
    body: str = Field(max_length=1000, description="What happened and what to do.")
    created_at: AwareDatetime = Field(description="When it was decided.")


def notification_id(incident_id: str, cause: str, recipient: str) -> str:
    """A stable id from what caused the notification (a step, a reminder number) and to whom."""
    digest = hashlib.blake2b(f"{incident_id}|{cause}|{recipient}".encode(), digest_size=10)
    return digest.hexdigest()
