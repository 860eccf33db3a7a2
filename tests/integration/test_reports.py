"""Filing reports through the API in-process, onto the real Kafka, with photos on disk."""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaProducer

from api.app import create_app
from api.uploads import MAX_PHOTO_BYTES
from gridwatch.geo.crs import wgs84_to_gcj02
from gridwatch.grid.model import Cell, Grid
from gridwatch.kafka_admin import ensure_topics
from gridwatch.photos import FilesystemPhotoStore
from gridwatch.ports import Done
from gridwatch.records import ReportFiled
from gridwatch.settings import Settings
from gridwatch.store.migrate import migrate
from ingest.kafka_sink import KafkaSink
from tests.conftest import add_user, bearer, free_port, read_topic
from tests.far_cells import FarCells
from tests.integration.sinks import RefusingSink

pytestmark = pytest.mark.integration


def png_pixel() -> bytes:
    """A real 1x1 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte, then one red pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def cell(far_cells: FarCells) -> Cell:
    """Where the reports are filed: the next module's stream worker raises their incidents."""
    return far_cells.one()


@pytest.fixture(scope="module")
def client(
    settings: Settings, grid: Grid, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    ensure_topics(settings.kafka)
    # Reading a photo writes the audit log.
    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        migrate(conn)
    sink = KafkaSink(settings.kafka, client_id=f"test-reports-{uuid.uuid4().hex[:8]}")
    photos = FilesystemPhotoStore(tmp_path_factory.mktemp("run") / "photos")
    try:
        with TestClient(create_app(settings, grid=grid, sink=sink, photos=photos)) as c:
            yield c
    finally:
        sink.close()


def filed(settings: Settings, report_id: str) -> tuple[bytes, ReportFiled]:
    """The key and value of a report on the events topic."""
    found = read_topic(
        settings,
        "events",
        lambda r: json.loads(r.value).get("report_id") == report_id,
        timeout=30,
    )
    if not found:
        pytest.fail(f"report {report_id} is not on {settings.kafka.topic('events')}")
    return found[0].key, ReportFiled.model_validate_json(found[0].value)


def report(cell: Cell, **fields: Any) -> dict[str, Any]:
    lon, lat = cell.centroid
    location = {"lat": lat, "lon": lon}
    return {"category": "fire", "note": "straw burning by the canal", "location": location} | fields


def form(cell: Cell, **fields: str) -> dict[str, str]:
    lon, lat = cell.centroid
    return {
        "category": "smoke",
        "note": "smoke over the orchard",
        "lat": f"{lat}",
        "lon": f"{lon}",
    } | fields


def errors(response: httpx.Response) -> list[tuple[str, str]]:
    return [(d["code"], d["msg"]) for d in response.json()["detail"]]


def test_a_json_report_is_on_the_events_topic_keyed_by_its_cell(
    client: TestClient, settings: Settings, cell: Cell
) -> None:
    lon, lat = cell.centroid
    glon, glat = wgs84_to_gcj02(lon, lat)
    location = {"lat": glat, "lon": glon, "crs": "gcj02"}
    response = client.post("/v1/reports", json=report(cell, location=location))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["cell_id"] == cell.id
    assert (body["category"], body["photo"]) == ("fire", None)
    key, record = filed(settings, body["report_id"])
    assert key == cell.id.encode()
    assert (record.cell_id, record.category, record.note) == (cell.id, "fire", report(cell)["note"])
    assert (record.reporter, record.reporter_role) == ("anonymous", "citizen")
    assert record.filed_at.isoformat().replace("+00:00", "Z") == body["filed_at"]
    # Stored in WGS-84, converted back from the GCJ-02 the phone's map gave.
    assert abs(record.lon - lon) < 1e-6
    assert abs(record.lat - lat) < 1e-6


def test_a_form_with_a_photo_stores_it_and_the_record_cites_it(
    client: TestClient, settings: Settings, cell: Cell
) -> None:
    png = png_pixel()
    response = client.post(
        "/v1/reports",
        data=form(cell),
        files={"photo": ("IMG_2041.png", png, "application/octet-stream")},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["photo"].startswith("photo:sha256:")
    photos: FilesystemPhotoStore = client.app.state.photos  # type: ignore[attr-defined]
    assert photos.get(body["photo"]) == (png, "image/png")
    # Read back only by who may see an incident citing it (test_api_auth.py), not by the filer.
    assert client.get(f"/v1/photos/{body['photo']}").status_code == 401
    _key, record = filed(settings, body["report_id"])
    assert (record.photo, record.category) == (body["photo"], "smoke")
    # A later report may cite the stored photo by reference instead of sending it again.
    again = client.post("/v1/reports", json=report(cell, photo=body["photo"]))
    assert again.status_code == 201, again.text
    assert again.json()["photo"] == body["photo"]


def test_photos_too_large_or_not_images_are_refused(client: TestClient, cell: Cell) -> None:
    too_big = png_pixel() + bytes(MAX_PHOTO_BYTES)
    response = client.post("/v1/reports", data=form(cell), files={"photo": ("a.png", too_big)})
    assert response.status_code == 413
    assert errors(response)[0][0] == "photo_too_large"
    huge = too_big + bytes(100_000)
    response = client.post("/v1/reports", data=form(cell), files={"photo": ("a.png", huge)})
    assert (response.status_code, errors(response)[0][0]) == (413, "report_too_large")
    # Sent in chunks, with no length declared: cut off once the body passes the limit.
    request = client.build_request("POST", "/v1/reports", data=form(cell), files={"photo": huge})
    chunks = iter([request.read()[i : i + 65536] for i in range(0, len(huge) + 1024, 65536)])
    headers = {"content-type": request.headers["content-type"]}
    response = client.post("/v1/reports", content=chunks, headers=headers)
    assert (response.status_code, errors(response)[0][0]) == (413, "report_too_large")
    text = b"not a picture, whatever the name says"
    response = client.post(
        "/v1/reports", data=form(cell), files={"photo": ("fire.jpg", text, "image/jpeg")}
    )
    assert response.status_code == 415
    assert errors(response) == [("unsupported_photo", "photo: not a JPEG, PNG or WebP image")]
    response = client.post(
        "/v1/reports", content=b"category=fire", headers={"content-type": "text/plain"}
    )
    assert (response.status_code, errors(response)[0][0]) == (415, "unsupported_media_type")


def report_lines(settings: Settings, actor: str) -> dict[str, dict[str, Any]]:
    """The `report.file` lines of an actor in the audit log: detail by target."""
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT target, detail FROM audit_log WHERE actor = %s AND action = 'report.file'",
            (actor,),
        ).fetchall()
    return dict(rows)


def test_filing_a_report_is_audited_with_who_filed_it(
    client: TestClient, settings: Settings, cell: Cell
) -> None:
    anonymous = client.post("/v1/reports", json=report(cell))
    assert anonymous.status_code == 201, anonymous.text
    report_id = anonymous.json()["report_id"]
    detail = {"report_id": report_id, "cell_id": cell.id, "category": "fire", "role": "citizen"}
    assert report_lines(settings, "anonymous")[f"report:{report_id}"] == detail

    worker = add_user(settings, "worker", cell.id)
    signed = client.post("/v1/reports", json=report(cell), headers=bearer(settings, worker))
    assert signed.status_code == 201, signed.text
    report_id = signed.json()["report_id"]
    assert report_lines(settings, worker.id) == {
        f"report:{report_id}": detail | {"report_id": report_id, "role": "worker"}
    }


class SilentSink(RefusingSink):
    """A `RecordSink` whose broker never answers: the ack times out, the record may arrive."""

    def send(self, topic: str, key: bytes, value: bytes, done: Done) -> None:
        """Take the record and never answer."""


@pytest.mark.parametrize(
    ("failing", "status", "lines"),
    [
        (RefusingSink(), "event_log_unavailable", []),
        (SilentSink(), "event_log_timeout", [True]),
    ],
    ids=["refused", "timed-out"],
)
def test_a_report_the_log_refuses_is_not_audited_one_that_may_arrive_is(
    settings: Settings,
    grid: Grid,
    cell: Cell,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failing: RefusingSink,
    status: str,
    lines: list[bool],
) -> None:
    monkeypatch.setattr("api.publish.ACK_TIMEOUT_S", 0.2)
    worker = add_user(settings, "worker", cell.id)
    app = create_app(settings, grid=grid, sink=failing, photos=FilesystemPhotoStore(tmp_path))
    with TestClient(app) as client:
        response = client.post("/v1/reports", json=report(cell), headers=bearer(settings, worker))
    assert (response.status_code, errors(response)[0][0]) == (503, status)
    found = report_lines(settings, worker.id).values()
    assert [detail.get("unconfirmed") for detail in found] == lines


def test_a_report_filed_while_the_database_fails_is_still_taken(
    settings: Settings,
    grid: Grid,
    cell: Cell,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = KafkaSink(settings.kafka, client_id=f"test-reports-{uuid.uuid4().hex[:8]}")
    app = create_app(settings, grid=grid, sink=sink, photos=FilesystemPhotoStore(tmp_path))
    try:
        with TestClient(app) as client:
            # The database goes away after start; an anonymous report needs it only to audit.
            assert client.portal is not None
            client.portal.call(app.state.pool.close)
            response = client.post("/v1/reports", json=report(cell))
    finally:
        sink.close()
    assert response.status_code == 201, response.text
    report_id = response.json()["report_id"]
    assert filed(settings, report_id)[1].report_id == report_id
    assert any(
        r.levelname == "ERROR" and report_id in r.getMessage() and "audit" in r.getMessage()
        for r in caplog.records
    )


def test_bad_fields_are_named(client: TestClient, cell: Cell) -> None:
    response = client.post("/v1/reports", json=report(cell, category="ufo"))
    assert response.status_code == 422
    [(code, msg)] = errors(response)
    assert code == "invalid_literal_error"
    assert msg.startswith("body.category: Input should be 'fire', 'smoke'")
    response = client.post("/v1/reports", json=report(cell, note="  "))
    assert [c for c, m in errors(response) if m.startswith("body.note:")] == [
        "invalid_string_too_short"
    ]
    response = client.post("/v1/reports", data={"category": "quarrel", "note": "loud", "lat": "x"})
    assert response.status_code == 422
    assert sorted(m.split(":")[0] for _c, m in errors(response)) == ["body.lat", "body.lon"]
    unknown = "photo:sha256:" + "0" * 64
    response = client.post("/v1/reports", json=report(cell, photo=unknown))
    assert (response.status_code, errors(response)[0][0]) == (422, "unknown_photo")


def test_a_place_outside_the_county_is_refused(client: TestClient, cell: Cell) -> None:
    beijing = {"lat": 39.9, "lon": 116.4}
    response = client.post("/v1/reports", json=report(cell, location=beijing))
    assert response.status_code == 422
    assert errors(response) == [
        ("outside_grid", "location: no grid cell holds lat=39.9, lon=116.4 (wgs84)")
    ]


class UnreachableKafkaSink(KafkaSink):
    """KafkaSink's own send and close, over a producer aimed at a closed loopback port."""

    def __init__(self) -> None:
        # KafkaSink's constructor takes no timeouts and would spend 30 s trying to bootstrap;
        # a pinned api_version skips that, and 1-s timeouts make the failure quick.
        self._producer = KafkaProducer(
            bootstrap_servers=f"127.0.0.1:{free_port()}",
            api_version=(3, 9),
            acks="all",
            enable_idempotence=True,
            max_block_ms=1000,
            request_timeout_ms=1000,
            delivery_timeout_ms=2000,
        )


def test_without_kafka_a_report_is_refused_not_lost(
    settings: Settings, grid: Grid, cell: Cell, tmp_path: Path
) -> None:
    sink = UnreachableKafkaSink()
    app = create_app(settings, grid=grid, sink=sink, photos=FilesystemPhotoStore(tmp_path))
    try:
        with TestClient(app) as client:
            response = client.post("/v1/reports", json=report(cell))
    finally:
        sink.close()
    assert response.status_code == 503
    [(code, msg)] = errors(response)
    assert code == "event_log_unavailable"
    assert msg.startswith("the event log did not take the report (KafkaTimeoutError")


def test_an_api_built_without_log_or_store_says_so(settings: Settings, grid: Grid) -> None:
    with TestClient(create_app(settings, grid=grid)) as client:
        response = client.post("/v1/reports", json={})
        assert (response.status_code, errors(response)[0][0]) == (503, "no_event_log")
        response = client.get("/v1/photos/photo:sha256:" + "0" * 64)
        assert (response.status_code, errors(response)[0][0]) == (503, "no_photo_store")
