"""What people (and the SLA timer) ask of an incident: the commands of the closed loop."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gridwatch.people import Level
from gridwatch.people import Role as PersonRole
from gridwatch.photos import REF_PATTERN

# `system` is the SLA timer's role: it only escalates, and no person logs in with it.
Role = PersonRole | Literal["system"]
LEVELS: tuple[Level, ...] = ("grid", "village", "township", "county")
Action = Literal[
    "dispatch",
    "accept",
    "arrive",
    "resolve",
    "hand_back",
    "request_help",
    "reassign",
    "escalate",
    "cancel",
    "verify",
    "close",
]
# Required text: blank is refused, so a reason is a reason.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
People = Annotated[tuple[str, ...], Field(min_length=1)]


class Actor(BaseModel):
    """Who issues a command: a person's id and role, or the SLA timer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="Person id, or the timer's name.")
    role: Role = Field(description="The role the command is issued in.")


class GpsFix(BaseModel):
    """A phone's position fix, WGS-84 (the API converts GCJ-02 before it gets here)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: float = Field(ge=-90, le=90, description="Latitude, degrees.")
    lon: float = Field(ge=-180, le=180, description="Longitude, degrees.")
    accuracy_m: float | None = Field(None, ge=0, description="Accuracy radius, metres.")


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    actor: Actor = Field(description="Who issues it.")
    note: Note = Field("", description="Free text for the timeline.")


class Dispatch(_Command):
    """Send an incident nobody holds (new, or handed back) to people."""

    action: Literal["dispatch"] = "dispatch"
    assignees: People = Field(description="Person ids it goes to.")


class Accept(_Command):
    """签收: an assignee takes the incident on; every accept clock stops."""

    action: Literal["accept"] = "accept"


class Arrive(_Command):
    """The assignee is on site, with the fix that shows it."""

    action: Literal["arrive"] = "arrive"
    gps: GpsFix = Field(description="Where the phone was on arrival.")


class Resolve(_Command):
    """The assignee dealt with it: what was done, with a photo and a fix where there are."""

    action: Literal["resolve"] = "resolve"
    note: Text = Field(description="What was done.")
    photo: str | None = Field(None, pattern=REF_PATTERN, description="Photo of the result.")
    gps: GpsFix | None = Field(None, description="Where the phone was.")


class HandBack(_Command):
    """The assignee gives it back to be dispatched again."""

    action: Literal["hand_back"] = "hand_back"
    reason: Text = Field(description="Why they cannot handle it.")


class RequestHelp(_Command):
    """The assignee asks for help; the incident stays with them."""

    action: Literal["request_help"] = "request_help"
    note: Text = Field(description="What help is needed.")


class Reassign(_Command):
    """Take the incident from its assignees and give it to others."""

    action: Literal["reassign"] = "reassign"
    assignees: People = Field(description="Person ids it goes to instead.")
    reason: Note = Field("", description="Why.")


class Escalate(_Command):
    """Raise the incident to a higher level of the hierarchy and add that level's people."""

    action: Literal["escalate"] = "escalate"
    level: Level = Field(description="The level it goes to; above the current one.")
    reason: Text = Field(description="Why, e.g. the accept deadline passed.")
    assignees: People = Field(description="People of that level who may take it.")


class Cancel(_Command):
    """Call the incident off; a false alarm feeds back into detector tuning."""

    action: Literal["cancel"] = "cancel"
    reason: Text = Field(description="Why it is called off.")
    false_alarm: bool = Field(description="Nothing was there.")


class Verify(_Command):
    """核查: someone other than the resolver confirms the result."""

    action: Literal["verify"] = "verify"


class Close(_Command):
    """End a verified incident."""

    action: Literal["close"] = "close"


Command = (
    Dispatch
    | Accept
    | Arrive
    | Resolve
    | HandBack
    | RequestHelp
    | Reassign
    | Escalate
    | Cancel
    | Verify
    | Close
)
