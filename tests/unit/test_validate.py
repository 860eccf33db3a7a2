"""Message validation: every refusal carries a specific code and a reason naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from gridwatch.devices import DeviceStatus
from gridwatch.events import EVENT_TYPES
from gridwatch.geo.crs import wgs84_to_gcj02
from gridwatch.records import RoutedEvent
from gridwatch.rejections import Rejection
from ingest.validate import MAX_PAYLOAD_BYTES, MAX_STATUS_BYTES, route_message, route_status
from tests.support import T0, event, payload, small_grid

GRID = small_grid()
TOPIC = "gridwatch/v1/blue-sky/cam-0042/events"


def route(body: bytes, topic: str = TOPIC) -> RoutedEvent | Rejection:
    return route_message(topic, body, grid=GRID, received_at=T0)


def rejected(body: bytes, topic: str = TOPIC) -> Rejection:
    result = route(body, topic)
    assert isinstance(result, Rejection), result
    return result


def test_fire_event_is_routed_to_its_cell() -> None:
    result = route(payload(event()))
    assert isinstance(result, RoutedEvent)
    assert (result.cell_id, result.device_id, result.source_kind) == (
        "west",
        "cam-0042",
        "blue-sky",
    )
    assert result.dedupe_key == "cam-0042/cam-0042-000187"


def test_gcj02_location_is_converted_before_lookup() -> None:
    # The GCJ-02 shift here is ~500 m east: a WGS-84 point just west of the cell edge reads,
    # in GCJ-02, as east of it. The bridge must place it by its WGS-84 position.
    lon, lat = wgs84_to_gcj02(114.349, 35.92)
    assert lon > 114.35
    result = route(payload(event(lon=lon, lat=lat, crs="gcj02")))
    assert isinstance(result, RoutedEvent)
    assert result.cell_id == "west"
    assert abs(result.lon - 114.349) < 1e-5


def test_not_json() -> None:
    r = rejected(b"{not json")
    assert r.code == "not_json"
    assert "not valid JSON" in r.reason


def test_not_an_object() -> None:
    assert rejected(b"[1, 2]").code == "not_object"


def test_missing_id_names_the_field() -> None:
    doc = event()
    del doc["id"]
    r = rejected(payload(doc))
    assert (r.code, r.reason) == ("missing_field", "required field(s) missing: id")


def test_missing_type() -> None:
    doc = event()
    del doc["type"]
    assert rejected(payload(doc)) == Rejection("missing_field", "'type' is required")


def test_unknown_type_lists_the_known_ones() -> None:
    r = rejected(payload(event("blue-sky.rain")))
    assert r.code == "unknown_type"
    assert "'blue-sky.rain'" in r.reason
    assert "blue-sky.fire" in r.reason


def test_out_of_range_confidence_names_path_and_value() -> None:
    r = rejected(payload(event(confidence=1.5)))
    assert r.code == "invalid_field"
    assert r.reason.startswith("data.confidence:")
    assert "1.5" in r.reason


def test_unknown_data_field_is_refused() -> None:
    r = rejected(payload(event(confidance=0.3)))
    assert r.code == "invalid_field"
    assert "data.confidance" in r.reason


def test_time_without_offset_is_refused() -> None:
    doc = event()
    doc["time"] = "2026-11-28T09:14:03"
    r = rejected(payload(doc))
    assert r.code == "invalid_field"
    assert r.reason.startswith("time:")


def test_outside_grid() -> None:
    r = rejected(payload(event(lon=116.40, lat=39.90)))
    assert r.code == "outside_grid"
    assert "lat=39.9, lon=116.4" in r.reason


def test_missing_location_without_registration() -> None:
    doc = event()
    del doc["data"]["location"]
    r = rejected(payload(doc))
    assert r.code == "no_location"
    assert "cam-0042" in r.reason


def test_source_must_match_topic_device() -> None:
    r = rejected(payload(event(device="cam-0043")))
    assert r.code == "source_mismatch"


def test_type_must_match_topic_source() -> None:
    r = rejected(payload(event("sharp-eyes.fall")))
    assert r.code == "type_mismatch"


@pytest.mark.parametrize(
    "topic",
    [
        "gridwatch/v1/blue-sky/cam-0042/status",
        "gridwatch/v1/red-sky/cam-0042/events",
        "gridwatch/v1/blue-sky/cam 42/events",
    ],
)
def test_bad_topics(topic: str) -> None:
    assert rejected(payload(event()), topic).code == "bad_topic"


def test_oversized_payload() -> None:
    r = rejected(b" " * (MAX_PAYLOAD_BYTES + 1))
    assert r.code == "too_large"


def test_every_event_type_is_accepted() -> None:
    extra: dict[str, dict[str, Any]] = {
        "blue-sky.air": {"pm25": 80.0, "pm10": 120.0, "no2": 30.0},
        "sharp-eyes.crowd": {"count": 35, "noise_db": 72.5},
        "sharp-eyes.intrusion": {"zone": "riverbank", "objects": ["person"]},
    }
    for type_ in EVENT_TYPES:
        source = type_.split(".")[0]
        body = payload(event(type_, **extra.get(type_, {})))
        result = route(body, f"gridwatch/v1/{source}/cam-0042/events")
        assert isinstance(result, RoutedEvent), (type_, result)
        assert result.event.type == type_


STATUS_TOPIC = "gridwatch/v1/sharp-eyes/cam-0042/status"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"online", "online"),
        (b"offline\n", "offline"),
        (b"ONLINE", "online"),
        (b'"offline"', "offline"),
        (b'{"status": "online", "uptime_s": 86400}', "online"),
    ],
)
def test_status_payloads_accepted(body: bytes, said: str) -> None:
    result = route_status(STATUS_TOPIC, body, received_at=T0)
    assert result == DeviceStatus(
        device_id="cam-0042", source_kind="sharp-eyes", status=said, received_at=T0
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"up",
        b"1",
        b'{"state": "online"}',
        b'["online"]',
        b"\xff\xfe",
        b"o" * (MAX_STATUS_BYTES + 1),
    ],
)
def test_bad_status_payloads_are_refused_naming_what_is_accepted(body: bytes) -> None:
    result = route_status(STATUS_TOPIC, body, received_at=T0)
    assert isinstance(result, Rejection)
    assert result.code == "bad_status"
    assert "online or offline" in result.reason
    assert f"(got {body[:40]!r}"[:-1] in result.reason  # shown, cut short when long


def test_status_on_a_bad_topic_is_refused() -> None:
    for topic, reason in [
        ("gridwatch/v1/rain/cam-0042/status", "unknown source 'rain'"),
        ("gridwatch/v1/sharp-eyes/-bad/status", "device id '-bad'"),
        ("gridwatch/v1/sharp-eyes/cam-0042/events", "/status"),
    ]:
        result = route_status(topic, b"online", received_at=T0)
        assert isinstance(result, Rejection)
        assert (result.code, reason in result.reason) == ("bad_topic", True)
