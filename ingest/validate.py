"""Turn one MQTT message into a routed event, or into a specific reason for refusing it."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Literal, cast

from pydantic import ValidationError

from gridwatch.devices import DeviceStatus
from gridwatch.events import DEVICE_EVENT, DEVICE_ID_PATTERN, SOURCE_KINDS, SourceKind
from gridwatch.geo.crs import to_wgs84
from gridwatch.grid.model import Grid
from gridwatch.records import RoutedEvent
from gridwatch.rejections import Rejection, explain

EVENTS_TOPIC = re.compile(r"^gridwatch/v1/([^/]+)/([^/]+)/events$")
STATUS_TOPIC = re.compile(r"^gridwatch/v1/([^/]+)/([^/]+)/status$")
# Either kind of device topic; group 2 is the device id (for logs and dead-letter keys).
DEVICE_TOPIC = re.compile(r"^gridwatch/v1/([^/]+)/([^/]+)/(?:events|status)$")
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)
MAX_PAYLOAD_BYTES = 256 * 1024
# A status is one word; anything much longer is not a status (and is not worth parsing).
MAX_STATUS_BYTES = 1024
Status = Literal["online", "offline"]
STATUSES: tuple[Status, ...] = ("online", "offline")


def _device_of(match: re.Match[str] | None, suffix: str) -> tuple[SourceKind, str] | Rejection:
    """The source kind and device id a device topic names, or why it names none."""
    if not match:
        return Rejection(
            "bad_topic", f"topic must be gridwatch/v1/{{source}}/{{device_id}}/{suffix}"
        )
    source_kind, device_id = match.groups()
    if source_kind not in SOURCE_KINDS:
        return Rejection(
            "bad_topic", f"unknown source {source_kind!r} in topic; expected sharp-eyes or blue-sky"
        )
    if not _DEVICE_ID.match(device_id):
        return Rejection("bad_topic", f"device id {device_id!r} in topic is not valid")
    return cast(SourceKind, source_kind), device_id


def _status_of(payload: bytes) -> Status | None:
    """`online` or `offline` from plain text, a JSON string or a JSON object's `status`."""
    try:
        text = payload.decode("utf-8").strip().lower()
    except UnicodeDecodeError:
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        doc = text
    if isinstance(doc, dict):
        doc = doc.get("status")
    return next((status for status in STATUSES if status == doc), None)


def route_status(topic: str, payload: bytes, *, received_at: datetime) -> DeviceStatus | Rejection:
    """Validate a message from `gridwatch/v1/{source}/{device}/status` (`online`/`offline`)."""
    device = _device_of(STATUS_TOPIC.match(topic), "status")
    if isinstance(device, Rejection):
        return device
    status = _status_of(payload) if len(payload) <= MAX_STATUS_BYTES else None
    if status is None:
        shown = payload[:40] + (b"..." if len(payload) > 40 else b"")
        return Rejection(
            "bad_status",
            "status must be online or offline: plain text, a JSON string, or a JSON object "
            f"with a 'status' member (got {shown!r})",
        )
    source_kind, device_id = device
    return DeviceStatus(
        device_id=device_id,
        source_kind=source_kind,
        status=status,
        received_at=received_at,
    )


def route_message(
    topic: str, payload: bytes, *, grid: Grid, received_at: datetime
) -> RoutedEvent | Rejection:
    """Validate a message from `gridwatch/v1/{source}/{device}/events` and place it in a cell."""
    device = _device_of(EVENTS_TOPIC.match(topic), "events")
    if isinstance(device, Rejection):
        return device
    source_kind, device_id = device
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Rejection(
            "too_large", f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES}"
        )
    try:
        event = DEVICE_EVENT.validate_json(payload)
    except ValidationError as exc:
        return explain(exc)
    if event.device_id != device_id:
        return Rejection(
            "source_mismatch",
            f"source names device {event.device_id!r} but the topic names {device_id!r}",
        )
    if event.source_kind != source_kind:
        return Rejection(
            "type_mismatch", f"event type {event.type!r} cannot arrive on a {source_kind} topic"
        )
    location = event.data.location
    if location is None:
        return Rejection(
            "no_location",
            f"data.location is missing and device {device_id!r} has no registered location",
        )
    lon, lat = to_wgs84(location.lon, location.lat, location.crs)
    cell = grid.locate(lon, lat)
    if cell is None:
        return Rejection(
            "outside_grid",
            f"location lat={location.lat}, lon={location.lon} ({location.crs}) lies outside "
            f"the grid (WGS-84 {lat:.6f}, {lon:.6f})",
        )
    return RoutedEvent(
        cell_id=cell.id,
        device_id=device_id,
        source_kind=event.source_kind,
        lon=lon,
        lat=lat,
        received_at=received_at,
        event=event,
    )
