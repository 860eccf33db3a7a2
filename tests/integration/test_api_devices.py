"""Devices' adjustments and false-alarm rates through the API in-process, and undoing them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gridwatch.accounts import User
from gridwatch.devices import AdjustmentRevoked, DeviceAdjusted
from gridwatch.grid.model import Grid
from gridwatch.incidents import Evidence, IncidentDetected, Severity
from gridwatch.kafka_admin import ensure_topics
from gridwatch.records import RoutedEvent
from gridwatch.settings import Settings
from gridwatch.store.devices import record_adjustments, record_endings
from gridwatch.store.events import EventSeries
from gridwatch.store.incidents import record_detections
from gridwatch.store.migrate import migrate
from ingest.kafka_sink import KafkaSink
from ingest.validate import route_message
from tests.conftest import add_user, bearer, read_topic
from tests.integration.test_device_feedback import detected, ended
from tests.support import event, payload, small_grid

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def client(settings: Settings, grid: Grid) -> Iterator[TestClient]:
    ensure_topics(settings.kafka)
    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        migrate(conn)
    sink = KafkaSink(settings.kafka, client_id=f"test-devices-{uuid.uuid4().hex[:8]}")
    try:
        with TestClient(create_app(settings, grid=grid, sink=sink)) as c:
            yield c
    finally:
        sink.close()


def penalised(settings: Settings, *, extra: int = 2, ago: timedelta = timedelta()) -> str:
    """A new device with an adjustment decided `ago`; its id."""
    dev = f"cam-{uuid.uuid4().hex[:10]}"
    at = NOW - ago
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        record_adjustments(
            conn,
            [
                DeviceAdjusted(
                    device_id=dev,
                    cell_id="c-east",
                    extra_confirmations=extra,
                    until=at + timedelta(days=7) if extra else None,
                    false_alarms=3,
                    reason="incident c-east-smoke-1 cancelled as a false alarm: sunset glare",
                    at=at,
                )
            ],
        )
    return dev


def test_a_device_shows_its_adjustment_and_rate(
    client: TestClient, settings: Settings, operator_headers: dict[str, str]
) -> None:
    dev = penalised(settings)
    response = client.get(f"/v1/devices/{dev}", headers=operator_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["device_id"] == dev
    adjustment = body["adjustment"]
    assert (adjustment["extra_confirmations"], adjustment["false_alarms"]) == (2, 3)
    assert (adjustment["cell_id"], adjustment["active"]) == ("c-east", True)
    assert adjustment["reason"].endswith("sunset glare")
    assert datetime.fromisoformat(adjustment["until"]) == NOW + timedelta(days=7)
    assert body["stats"] == {
        "since": None,
        "incidents": 0,
        "false_alarms": 0,
        "false_alarm_rate": None,
    }
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        record_detections(conn, [detected(f"{dev}-{i}", dev, NOW) for i in range(4)])
        record_endings(
            conn, [ended(f"{dev}-0", [dev]), ended(f"{dev}-1", [dev], false_alarm=False)]
        )
    stats = client.get(f"/v1/devices/{dev}", headers=operator_headers).json()["stats"]
    assert (stats["incidents"], stats["false_alarms"], stats["false_alarm_rate"]) == (4, 1, 0.25)
    later = (NOW + timedelta(seconds=1)).isoformat()
    since = client.get(
        f"/v1/devices/{dev}", params={"since": later}, headers=operator_headers
    ).json()["stats"]
    assert datetime.fromisoformat(since["since"]) == NOW + timedelta(seconds=1)
    assert (since["incidents"], since["false_alarm_rate"]) == (0, None)


def test_a_device_without_history_has_no_adjustment(
    client: TestClient, operator_headers: dict[str, str]
) -> None:
    body = client.get("/v1/devices/cam-never-seen", headers=operator_headers).json()
    assert body["adjustment"] is None
    assert body["stats"]["incidents"] == 0
    bad = client.get(
        "/v1/devices/cam-never-seen", params={"since": "yesterday"}, headers=operator_headers
    )
    assert (bad.status_code, bad.json()["detail"][0]["code"]) == (
        422,
        "invalid_datetime_from_date_parsing",
    )


def test_operators_see_the_adjustments_in_force_most_recent_first(
    client: TestClient, settings: Settings, operator_headers: dict[str, str]
) -> None:
    older = penalised(settings, ago=timedelta(hours=3))
    newer = penalised(settings, ago=timedelta(hours=1))
    lifted = penalised(settings, extra=0)
    ours = {older, newer, lifted}

    def listed(**params: str) -> list[tuple[str, bool]]:
        query = params | {"limit": "500"}
        page = client.get("/v1/devices/adjustments", params=query, headers=operator_headers).json()
        assert page["count"] == len(page["items"])
        return [(i["device_id"], i["active"]) for i in page["items"] if i["device_id"] in ours]

    assert listed() == [(newer, True), (older, True)]
    assert listed(active="false") == [(lifted, False), (newer, True), (older, True)]


def test_undoing_an_adjustment_asks_its_cell_on_the_feedback_topic(
    client: TestClient, settings: Settings, operator: User, operator_headers: dict[str, str]
) -> None:
    dev = penalised(settings)
    response = client.delete(f"/v1/devices/{dev}/adjustment", headers=operator_headers)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["schema"] == "gridwatch.adjustment-revoked/1"
    assert (body["device_id"], body["cell_id"], body["by"]) == (dev, "c-east", operator.id)
    [record] = read_topic(
        settings, "feedback", lambda r: json.loads(r.value).get("device_id") == dev, timeout=30
    )
    assert record.key == b"c-east"
    sent = AdjustmentRevoked.model_validate_json(record.value)
    assert sent == AdjustmentRevoked.model_validate(body)
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT actor, action FROM audit_log WHERE target = %s", (f"device:{dev}",)
        ).fetchall()
    assert rows == [(operator.id, "device.adjustment.lift")]


def test_undoing_what_is_not_there_is_a_specific_404(
    client: TestClient, settings: Settings, operator_headers: dict[str, str]
) -> None:
    for dev in ("cam-never-seen", penalised(settings, extra=0)):
        response = client.delete(f"/v1/devices/{dev}/adjustment", headers=operator_headers)
        assert response.status_code == 404
        assert response.json() == {
            "detail": [
                {"msg": f"device {dev!r} has no adjustment to lift", "code": "no_adjustment"}
            ]
        }


AIR: dict[str, Any] = {"pm25": 35.0, "pm10": 50.0}


def heard(settings: Settings, dev: str, source: str, *, ago: timedelta) -> None:
    """Store one event of `dev` sent and received `ago`, as the alerts process would."""
    at = NOW - ago
    type_, data = ("sharp-eyes.motion", {}) if source == "sharp-eyes" else ("blue-sky.air", AIR)
    routed = route_message(
        f"gridwatch/v1/{source}/{dev}/events",
        payload(event(type_, device=dev, event_id=f"{dev}-{ago}", at=at, **data)),
        grid=small_grid(),
        received_at=at,
    )
    assert isinstance(routed, RoutedEvent), routed
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        EventSeries().record(conn, [routed], today=NOW.date())


def flagged(settings: Settings, dev: str, kind: str, *, at: datetime) -> str:
    """An open no-signal incident naming `dev` with evidence of `kind`; its id."""
    incident = f"west-no_signal-{dev}"
    evidence = Evidence(
        device_id=dev,
        event_id=f"{kind}@{at}",
        type=kind,
        time=at,
        confidence=1.0,
        lon=114.32,
        lat=35.92,
    )
    found = IncidentDetected(
        incident_id=incident,
        cell_id="west",
        kind="maintenance",
        category="no_signal",
        severity=Severity.LOW,
        detector="health/1",
        opened_at=at,
        evidence=evidence,
    )
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        record_detections(conn, [found])
    return incident


def test_the_map_lists_devices_with_their_health(
    client: TestClient, settings: Settings, operator_headers: dict[str, str]
) -> None:
    tag = uuid.uuid4().hex[:6]
    online, silent, offline, back = (f"{n}-{tag}" for n in ("on", "quiet", "off", "back"))
    heard(settings, online, "sharp-eyes", ago=timedelta(minutes=1))
    heard(settings, silent, "blue-sky", ago=timedelta(hours=2))
    quiet_incident = flagged(settings, silent, "device.seen", at=NOW - timedelta(hours=2))
    heard(settings, offline, "sharp-eyes", ago=timedelta(hours=1))
    flagged(settings, offline, "device.status", at=NOW - timedelta(minutes=30))
    heard(settings, back, "sharp-eyes", ago=timedelta(hours=3))
    flagged(settings, back, "device.seen", at=NOW - timedelta(hours=3))
    heard(settings, back, "sharp-eyes", ago=timedelta(minutes=2))

    response = client.get("/v1/devices", headers=operator_headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["count"] == len(page["items"])
    ours = {d["device_id"]: d for d in page["items"] if d["device_id"].endswith(tag)}
    assert {k: v["health"] for k, v in ours.items()} == {
        online: "online",
        silent: "silent",
        offline: "offline",
        back: "online",
    }
    quiet = ours[silent]
    assert (quiet["source_kind"], quiet["cell_id"], quiet["incident_id"]) == (
        "blue-sky",
        "west",
        quiet_incident,
    )
    assert (ours[online]["last_type"], quiet["last_type"]) == ("sharp-eyes.motion", "blue-sky.air")
    assert quiet["location"] == {"lat": 35.92, "lon": 114.32}
    assert datetime.fromisoformat(quiet["last_heard_at"]) == NOW - timedelta(hours=2)
    assert datetime.fromisoformat(ours[back]["last_event_at"]) == NOW - timedelta(minutes=2)
    assert ours[back]["incident_id"] is None


@pytest.mark.parametrize("path", ["/v1/devices", "/v1/devices/adjustments", "/v1/devices/cam-1"])
def test_device_reads_are_for_the_desk_only(
    client: TestClient, settings: Settings, path: str
) -> None:
    assert client.get(path).status_code == 401
    worker = add_user(settings, "worker", "west")
    refused = client.get(path, headers=bearer(settings, worker))
    assert (refused.status_code, refused.json()["detail"][0]["code"]) == (403, "forbidden")
