"""The external event contract v1: CloudEvents 1.0 envelopes published by devices over MQTT."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from gridwatch.geo.crs import Crs

SOURCE_PREFIX = "urn:gridwatch:device:"
DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)

SourceKind = Literal["sharp-eyes", "blue-sky"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("sharp-eyes", "blue-sky")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Location(_Strict):
    """Where the device saw the event; converted to WGS-84 on ingest."""

    lat: float = Field(ge=-90, le=90, description="Latitude in degrees.")
    lon: float = Field(ge=-180, le=180, description="Longitude in degrees.")
    crs: Crs = Field("wgs84", description="wgs84, gcj02 (Chinese map apps) or bd09 (Baidu).")


class Detection(_Strict):
    """Fields every event's data carries."""

    confidence: float = Field(1.0, ge=0, le=1, description="Detector confidence, 0 to 1.")
    location: Location | None = Field(
        None, description="Optional when the device is registered with a fixed location."
    )
    snapshot: str | None = Field(
        None, max_length=2048, description="URL or object key of a snapshot image."
    )


class AirReading(Detection):
    """An air-quality reading of a Blue Sky Guard station (µg/m³; CO in mg/m³)."""

    pm25: float = Field(ge=0, le=5000, description="PM2.5, µg/m³.")
    pm10: float = Field(ge=0, le=5000, description="PM10, µg/m³.")
    so2: float | None = Field(None, ge=0, le=10000, description="SO2, µg/m³.")
    no2: float | None = Field(None, ge=0, le=10000, description="NO2, µg/m³.")
    o3: float | None = Field(None, ge=0, le=10000, description="O3, µg/m³.")
    co: float | None = Field(None, ge=0, le=1000, description="CO, mg/m³.")


class CrowdCount(Detection):
    """People counted in a Sharp Eyes camera's view."""

    count: int = Field(ge=0, le=100000, description="People in view.")
    noise_db: float | None = Field(None, ge=0, le=200, description="Sound level, dB(A).")


class Intrusion(Detection):
    """Someone or something inside a watched zone."""

    zone: str = Field(min_length=1, max_length=64, description="Zone name, e.g. riverbank.")
    objects: list[str] = Field(
        default_factory=list, max_length=64, description="Kinds of object seen, e.g. person."
    )


class _Envelope(_Strict):
    """The CloudEvents 1.0 attributes of every event (structured JSON mode)."""

    specversion: Literal["1.0"] = Field(description="CloudEvents version.")
    id: str = Field(min_length=1, max_length=128, description="Unique per device.")
    source: str = Field(description="urn:gridwatch:device:{device_id}.")
    type: str = Field(description="Event type, e.g. blue-sky.fire.")
    time: AwareDatetime = Field(description="When the device saw it, with a UTC offset.")
    datacontenttype: Literal["application/json"] = Field(
        "application/json", description="Always application/json."
    )
    subject: str | None = Field(None, max_length=256, description="Optional subject.")
    dataschema: str | None = Field(None, max_length=2048, description="Optional schema URI.")

    @field_validator("source")
    @classmethod
    def _device_urn(cls, value: str) -> str:
        device = value.removeprefix(SOURCE_PREFIX)
        if device == value or not _DEVICE_ID.match(device):
            raise ValueError(
                f"source must be '{SOURCE_PREFIX}<device_id>' with a device id of letters, "
                "digits, '.', '_' or '-' (at most 64)"
            )
        return value

    @property
    def device_id(self) -> str:
        """The device id named in `source`."""
        return self.source.removeprefix(SOURCE_PREFIX)

    @property
    def source_kind(self) -> SourceKind:
        """sharp-eyes or blue-sky, from the type prefix."""
        return "blue-sky" if self.type.startswith("blue-sky.") else "sharp-eyes"

    @property
    def dedupe_key(self) -> str:
        """`device/id`: a re-delivered event has the same key."""
        return f"{self.device_id}/{self.id}"


class SmokeEvent(_Envelope):
    """A Blue Sky Guard camera saw smoke."""

    type: Literal["blue-sky.smoke"]
    data: Detection


class FireEvent(_Envelope):
    """A Blue Sky Guard camera saw fire."""

    type: Literal["blue-sky.fire"]
    data: Detection


class AirEvent(_Envelope):
    """A Blue Sky Guard station's air-quality reading."""

    type: Literal["blue-sky.air"]
    data: AirReading


class CrowdEvent(_Envelope):
    """A Sharp Eyes camera counted people."""

    type: Literal["sharp-eyes.crowd"]
    data: CrowdCount


class IntrusionEvent(_Envelope):
    """A Sharp Eyes camera saw someone in a watched zone."""

    type: Literal["sharp-eyes.intrusion"]
    data: Intrusion


class FightEvent(_Envelope):
    """A Sharp Eyes camera saw a fight."""

    type: Literal["sharp-eyes.fight"]
    data: Detection


class FallEvent(_Envelope):
    """A Sharp Eyes camera saw a person fall."""

    type: Literal["sharp-eyes.fall"]
    data: Detection


class MotionEvent(_Envelope):
    """Raw motion: stored, never an incident by itself."""

    type: Literal["sharp-eyes.motion"]
    data: Detection


DeviceEvent = Annotated[
    SmokeEvent
    | FireEvent
    | AirEvent
    | CrowdEvent
    | IntrusionEvent
    | FightEvent
    | FallEvent
    | MotionEvent,
    Field(discriminator="type"),
]
DEVICE_EVENT = TypeAdapter[DeviceEvent](DeviceEvent)
EVENT_TYPES: tuple[str, ...] = (
    "blue-sky.smoke",
    "blue-sky.fire",
    "blue-sky.air",
    "sharp-eyes.crowd",
    "sharp-eyes.intrusion",
    "sharp-eyes.fight",
    "sharp-eyes.fall",
    "sharp-eyes.motion",
)
