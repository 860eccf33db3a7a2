"""Turn one MQTT message into a routed event, or into a specific reason for refusing it."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import ValidationError

from gridwatch.events import DEVICE_EVENT, DEVICE_ID_PATTERN, SOURCE_KINDS
from gridwatch.geo.crs import to_wgs84
from gridwatch.grid.model import Grid
from gridwatch.records import RoutedEvent
from gridwatch.rejections import Rejection, explain

EVENTS_TOPIC = re.compile(r"^gridwatch/v1/([^/]+)/([^/]+)/events$")
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)
MAX_PAYLOAD_BYTES = 256 * 1024


def route_message(
    topic: str, payload: bytes, *, grid: Grid, received_at: datetime
) -> RoutedEvent | Rejection:
    """Validate a message from `gridwatch/v1/{source}/{device}/events` and place it in a cell."""
    match = EVENTS_TOPIC.match(topic)
    if not match:
        return Rejection("bad_topic", "topic must be gridwatch/v1/{source}/{device_id}/events")
    source_kind, device_id = match.groups()
    if source_kind not in SOURCE_KINDS:
        return Rejection(
            "bad_topic", f"unknown source {source_kind!r} in topic; expected sharp-eyes or blue-sky"
        )
    if not _DEVICE_ID.match(device_id):
        return Rejection("bad_topic", f"device id {device_id!r} in topic is not valid")
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
