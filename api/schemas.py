"""Wire models of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from gridwatch.geo.crs import Crs
from gridwatch.incidents import IncidentCategory, IncidentKind, IncidentStatus
from gridwatch.people import DutyOverride, LastFix, Level, Role, Shift
from gridwatch.photos import REF_PATTERN


class _Read(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# What a person may report: every incident category except no_signal, which only the
# device-health rule raises.
ReportCategory = Literal[
    "fire",
    "smoke",
    "air_pollution",
    "crowd",
    "intrusion",
    "fall",
    "fight",
    "gathering",
    "quarrel",
    "other",
]


class Point(_Read):
    """A WGS-84 point."""

    lat: float
    lon: float


class CellRead(_Read):
    """A grid cell and where it sits in the hierarchy."""

    cell_id: str
    township_id: str
    township_name: str
    village_id: str
    village_name: str
    centroid: Point
    area_km2: float


class EvidenceRead(_Read):
    """A device event that supports an incident."""

    device_id: str
    event_id: str
    type: str
    time: datetime
    confidence: float
    location: Point
    snapshot: str | None


class IncidentRead(_Read):
    """An incident in a cell's queue."""

    incident_id: str
    cell_id: str
    kind: IncidentKind
    category: IncidentCategory
    severity: int = Field(ge=1, le=4, description="1 low ... 4 critical.")
    status: IncidentStatus
    detector: str
    opened_at: datetime
    last_evidence_at: datetime
    evidence_count: int
    location: Point
    summary: str = Field(description="The detector's latest summary, or the reporter's note.")
    cleared_at: datetime | None = Field(description="When the condition behind it ended.")
    created_at: datetime
    updated_at: datetime


class IncidentDetail(IncidentRead):
    """An incident with its evidence events."""

    evidence: list[EvidenceRead]


class IncidentPage(_Read):
    """A page of a queue."""

    items: list[IncidentRead]
    count: int


class DependencyCheck(_Read):
    """The state of one dependency."""

    ok: bool
    required: bool
    detail: str


class Readiness(_Read):
    """Whether the API can serve, per dependency."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, DependencyCheck]


class LocationIn(BaseModel):
    """Where something is, in the coordinate system the phone's map uses."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, description="Latitude.")
    lon: float = Field(ge=-180, le=180, description="Longitude.")
    crs: Crs = Field("wgs84", description="wgs84, gcj02 (Amap, Tencent) or bd09 (Baidu).")


class ReportCreate(BaseModel):
    """A report a person files; as multipart form fields, location is flat: lat, lon, crs."""

    model_config = ConfigDict(extra="forbid")

    category: ReportCategory = Field(description="What the person reports.")
    note: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
        Field(description="What the person saw, 1 to 2000 characters."),
    ]
    location: LocationIn = Field(description="Where it is.")
    photo: str | None = Field(
        None,
        pattern=REF_PATTERN,
        description="Reference of a photo stored before (photo:sha256:<hex>); a multipart "
        "form may carry the photo file itself instead.",
    )


class ReportRead(_Read):
    """A report accepted onto the event log."""

    report_id: str
    cell_id: str
    category: ReportCategory
    photo: str | None = Field(description="Reference of the stored photo: GET /v1/photos/{ref}.")
    filed_at: datetime


class AdjustmentRead(_Read):
    """A device's latest false-alarm adjustment, in force or lifted."""

    device_id: str
    cell_id: str = Field(description="Cell whose detectors apply it.")
    extra_confirmations: int = Field(description="Confirmations needed beyond the usual.")
    until: datetime | None = Field(description="When it lapses; null once lifted.")
    false_alarms: int = Field(description="False alarms the cell stage has counted.")
    reason: str = Field(description="The cancelled incident, or who lifted it and how.")
    at: datetime = Field(description="When it was decided.")
    active: bool = Field(description="In force now: extra confirmations, not yet lapsed.")


class AdjustmentPage(_Read):
    """Adjustments, most recent first."""

    items: list[AdjustmentRead]
    count: int


class DeviceStats(_Read):
    """How often a device's detections turned out to be false alarms."""

    since: datetime | None = Field(description="Start of the period; null for all time.")
    incidents: int = Field(description="Distinct incidents it gave evidence to.")
    false_alarms: int = Field(description="Of those, cancelled as a false alarm naming it.")
    false_alarm_rate: float | None = Field(
        description="false_alarms / incidents; null when it took part in none."
    )


class DeviceRead(_Read):
    """A device's feedback: its adjustment and its false-alarm rate."""

    device_id: str
    adjustment: AdjustmentRead | None = Field(description="Null if it never had one.")
    stats: DeviceStats


class TokenPair(_Read):
    """What a sign-in or a refresh answers: an access token and the refresh token to renew it."""

    access_token: str = Field(description="Send as `Authorization: Bearer <access_token>`.")
    refresh_token: str = Field(description="Trade once at /v1/auth/refresh for a new pair.")
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid.")


class RefreshIn(BaseModel):
    """A refresh token to rotate or revoke."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, description="The refresh token last received.")


class PersonRead(_Read):
    """Someone on the duty roster, at a node of the grid hierarchy."""

    id: str
    name: str
    phone: str | None
    role: Role
    level: Level
    node: str = Field(description="Cell, village, township or county id, by `level`.")
    load: int = Field(
        description="Open incidents assigned to the person's accounts, as dispatch counts them."
    )


class PeoplePage(_Read):
    """Active people, by id."""

    items: list[PersonRead]
    count: int


class DutyRead(_Read):
    """Whether a person is on duty now, and the override they pressed, if any."""

    person_id: str
    on_duty: bool = Field(description="On duty now: the override while in force, else the roster.")
    override: DutyOverride | None = Field(description="What they pressed last, lapsed or not.")


class PersonDetail(PersonRead):
    """A person with their shifts, duty now and last fix."""

    active: bool = Field(description="Still on the roster; false once removed or not imported.")
    shifts: list[Shift]
    duty: DutyRead
    last_fix: LastFix | None = Field(description="The phone's latest WGS-84 fix, if any.")


class FixIn(LocationIn):
    """A fix the phone took while on duty."""

    accuracy_m: float = Field(ge=0, description="Horizontal accuracy the phone reports, metres.")
    at: AwareDatetime | None = Field(
        None, description="When the phone took the fix; the time it arrives if absent."
    )


class FixRead(_Read):
    """The latest fix now stored, and whether the one sent became it."""

    stored: bool = Field(description="False when a newer fix was already stored.")
    last_fix: LastFix


class DutyIn(BaseModel):
    """ "On duty" or "off duty" pressed on the phone."""

    model_config = ConfigDict(extra="forbid")

    on_duty: bool = Field(description="Whether the person is on duty.")
    until: AwareDatetime | None = Field(
        None, description="When the roster applies again; null keeps it until pressed again."
    )
