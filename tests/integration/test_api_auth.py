"""Signing in, token rotation, throttling, refusals and the audit log, against PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import issue_access, signing_key
from gridwatch.accounts import User
from gridwatch.grid.model import Grid
from gridwatch.incidents import Severity
from gridwatch.photos import FilesystemPhotoStore
from gridwatch.records import ReportFiled
from gridwatch.settings import Settings
from gridwatch.store.incidents import record_detections
from ingest.kafka_sink import KafkaSink
from tests.conftest import add_user, bearer, read_topic
from tests.far_cells import FarCells
from tests.integration.test_api_cases import JPEG, detect, detection, ok, post

pytestmark = pytest.mark.integration
PASSWORD = "a long passphrase"


@pytest.fixture
def client(settings: Settings, grid: Grid, sink: KafkaSink, tmp_path: Path) -> Iterator[TestClient]:
    """An API seen from an address of its own: throttling by address stays within one test."""
    app = create_app(settings, grid=grid, sink=sink, photos=FilesystemPhotoStore(tmp_path))
    address = f"10.0.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    with TestClient(app, client=(address, 50000)) as c:
        yield c


@pytest.fixture
def worker(settings: Settings, grid: Grid) -> User:
    return add_user(settings, "worker", grid.cells[3].id, password=PASSWORD)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def audit(settings: Settings, target: str) -> list[tuple[str, str]]:
    """(actor, action) of the audit rows about `target`, oldest first."""
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT actor, action FROM audit_log WHERE target = %s ORDER BY id", (target,)
        ).fetchall()
    return [(actor, action) for actor, action in rows]


def codes(response: httpx.Response) -> list[str]:
    return [d["code"] for d in response.json()["detail"]]


def test_sign_in_gives_tokens_that_name_the_account(
    client: TestClient, settings: Settings, worker: User
) -> None:
    tokens = sign_in(client, worker.username)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200, me.text
    assert User.model_validate(me.json()) == worker
    assert audit(settings, f"user:{worker.id}") == [(worker.id, "auth.login")]


def test_unknown_user_and_wrong_password_get_the_same_401(client: TestClient, worker: User) -> None:
    unknown = client.post("/v1/auth/token", data={"username": "nobody", "password": PASSWORD})
    wrong = client.post("/v1/auth/token", data={"username": worker.username, "password": "x" * 12})
    for response in (unknown, wrong):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {
            "detail": [{"msg": "wrong username or password", "code": "invalid_credentials"}]
        }


def test_a_refresh_rotates_and_a_reused_token_revokes_the_sign_in(
    client: TestClient, settings: Settings, worker: User
) -> None:
    first = sign_in(client, worker.username)["refresh_token"]
    rotated = client.post("/v1/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["refresh_token"]
    assert second != first
    # Past the retry grace (a minute): presenting a used token again is a replay.
    age_rotations(settings, worker, minutes=2)
    replayed = client.post("/v1/auth/refresh", json={"refresh_token": first})
    assert (replayed.status_code, codes(replayed)) == (401, ["token_reused"])
    # The thief's replay also ends the rightful holder's session.
    after = client.post("/v1/auth/refresh", json={"refresh_token": second})
    assert (after.status_code, codes(after)) == (401, ["token_reused"])
    actions = [action for _, action in audit(settings, f"user:{worker.id}")]
    assert actions == ["auth.login", "auth.refresh", "auth.refresh.reused", "auth.refresh.reused"]


def age_rotations(settings: Settings, user: User, *, minutes: int) -> None:
    """Make the account's used refresh tokens look used `minutes` earlier."""
    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        conn.execute(
            "UPDATE refresh_tokens SET revoked_at = revoked_at - make_interval(mins => %s)"
            " WHERE user_id = %s AND revoked_at IS NOT NULL",
            (minutes, user.id),
        )


def test_a_refresh_whose_answer_was_lost_may_be_retried_within_a_minute(
    client: TestClient, settings: Settings, worker: User
) -> None:
    first = sign_in(client, worker.username)["refresh_token"]
    lost = client.post("/v1/auth/refresh", json={"refresh_token": first}).json()["refresh_token"]
    # The phone never got `lost` and presents `first` again: a new pair, `lost` revoked.
    again = client.post("/v1/auth/refresh", json={"refresh_token": first})
    assert again.status_code == 200, again.text
    kept = again.json()["refresh_token"]
    assert len({first, lost, kept}) == 3
    assert client.post("/v1/auth/refresh", json={"refresh_token": kept}).status_code == 200
    actions = [action for _, action in audit(settings, f"user:{worker.id}")]
    assert actions == ["auth.login", "auth.refresh", "auth.refresh.retry", "auth.refresh"]


def test_sign_out_revokes_the_refresh_token(client: TestClient, worker: User) -> None:
    refresh = sign_in(client, worker.username)["refresh_token"]
    assert client.post("/v1/auth/logout", json={"refresh_token": refresh}).status_code == 204
    # Within the retry grace too: a signed-out family has nothing live to retry.
    response = client.post("/v1/auth/refresh", json={"refresh_token": refresh})
    assert (response.status_code, codes(response)) == (401, ["token_reused"])


def test_repeated_failures_are_throttled_per_account_and_per_address(
    client: TestClient, settings: Settings, grid: Grid, worker: User
) -> None:
    for _ in range(5):
        bad = {"username": worker.username, "password": "wrong password"}
        assert client.post("/v1/auth/token", data=bad).status_code == 401
    # Now even the right password waits, and so does another account from the same address.
    other = add_user(settings, "worker", grid.cells[4].id, password=PASSWORD)
    for username in (worker.username, other.username):
        response = client.post("/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert (response.status_code, codes(response)) == (429, ["too_many_attempts"])
        assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    actions = [action for _, action in audit(settings, f"user:{worker.username}")]
    assert actions == ["auth.login.failed"] * 5 + ["auth.login.throttled"]


def test_missing_bad_and_expired_tokens_are_401(
    client: TestClient, settings: Settings, worker: User
) -> None:
    key = signing_key(settings.auth, settings.run_dir)
    old = issue_access(
        worker, auth=settings.auth, key=key, now=datetime.now(UTC) - timedelta(hours=1)
    )
    cases = {
        "not_authenticated": {},
        "not_authenticated ": {"Authorization": "Bearer not-a-token"},
        "token_expired": {"Authorization": f"Bearer {old.token}"},
    }
    for code, headers in cases.items():
        response = client.get("/v1/auth/me", headers=headers)
        assert (response.status_code, codes(response)) == (401, [code.strip()])
        assert response.headers["www-authenticate"] == "Bearer"


def test_lifting_an_adjustment_needs_a_supervisor_operator_or_admin(
    client: TestClient, settings: Settings, worker: User
) -> None:
    anonymous = client.delete("/v1/devices/cam-x/adjustment")
    assert (anonymous.status_code, codes(anonymous)) == (401, ["not_authenticated"])
    response = client.delete("/v1/devices/cam-x/adjustment", headers=bearer(settings, worker))
    assert response.status_code == 403
    assert response.json() == {
        "detail": [
            {
                "msg": "this needs the role supervisor or operator or admin; you are a worker",
                "code": "forbidden",
            }
        ]
    }


def test_a_signed_in_workers_report_carries_their_identity(
    client: TestClient, settings: Settings, far_cells: FarCells, worker: User
) -> None:
    lon, lat = far_cells.one().centroid
    report = {
        "category": "fire",
        "note": "smoke by the school",
        "location": {"lat": lat, "lon": lon},
    }
    response = client.post("/v1/reports", json=report, headers=bearer(settings, worker))
    assert response.status_code == 201, response.text
    report_id = response.json()["report_id"]
    [record] = read_topic(
        settings, "events", lambda r: json.loads(r.value).get("report_id") == report_id, timeout=30
    )
    filed = ReportFiled.model_validate_json(record.value)
    assert (filed.reporter, filed.reporter_role) == (worker.id, "worker")


def cited_photo(settings: Settings, grid: Grid, tmp_path: Path, cell: int) -> tuple[str, bytes]:
    """A stored photo (its reference and bytes), the snapshot of a new fire in cell `cell`."""
    data = b"\x89PNG\r\n\x1a\n" + uuid.uuid4().bytes
    ref = FilesystemPhotoStore(tmp_path).put(data, "image/png")
    found = detection(grid, cell, Severity.HIGH)
    cited = found.model_copy(
        update={"evidence": found.evidence.model_copy(update={"snapshot": ref})}
    )
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        record_detections(conn, [cited])
    return ref, data


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def test_a_photo_needs_a_valid_token_by_header_or_address(
    client: TestClient, settings: Settings, grid: Grid, worker: User, tmp_path: Path
) -> None:
    ref, data = cited_photo(settings, grid, tmp_path, 3)
    path = f"/v1/photos/{ref}"
    for headers, params in [
        ({}, {}),
        ({"Authorization": "Bearer not-a-token"}, {}),
        ({}, {"access_token": "not-a-token"}),
    ]:
        refused = client.get(path, headers=headers, params=params)
        assert (refused.status_code, codes(refused)) == (401, ["not_authenticated"])
        assert refused.headers["www-authenticate"] == "Bearer"
    by_header = client.get(path, headers=bearer(settings, worker))
    by_address = client.get(path, params={"access_token": token_of(bearer(settings, worker))})
    for answer in (by_header, by_address):
        assert (answer.status_code, answer.content) == (200, data)
        assert answer.headers["content-type"] == "image/png"
        # The address may hold a token: no cache may keep the answer under it.
        assert answer.headers["cache-control"] == "private, no-store"
    assert audit(settings, ref) == [(worker.id, "photo.read")] * 2


def test_a_snapshot_is_read_by_who_may_see_its_incident_and_each_read_names_them(
    client: TestClient, settings: Settings, grid: Grid, worker: User, operator: User, tmp_path: Path
) -> None:
    ref, _data = cited_photo(settings, grid, tmp_path, 3)
    path = f"/v1/photos/{ref}"
    elsewhere = add_user(settings, "worker", grid.cells[5].id)
    refused = client.get(path, headers=bearer(settings, elsewhere))
    assert (refused.status_code, codes(refused)) == (404, ["unknown_photo"])
    # The same answer as for a photo that does not exist: a reference tells an outsider nothing.
    unknown = client.get("/v1/photos/photo:sha256:" + "0" * 64, headers=bearer(settings, worker))
    assert (unknown.status_code, codes(unknown)) == (404, ["unknown_photo"])
    assert client.get(path, headers=bearer(settings, worker)).status_code == 200
    assert client.get(path, headers=bearer(settings, operator)).status_code == 200
    assert audit(settings, ref) == [(worker.id, "photo.read"), (operator.id, "photo.read")]


def test_a_photo_cited_by_no_incident_is_read_by_no_one(
    client: TestClient, settings: Settings, operator: User, tmp_path: Path
) -> None:
    ref = FilesystemPhotoStore(tmp_path).put(b"\xff\xd8\xff" + uuid.uuid4().bytes, "image/jpeg")
    refused = client.get(f"/v1/photos/{ref}", headers=bearer(settings, operator))
    assert (refused.status_code, codes(refused)) == (404, ["unknown_photo"])
    assert audit(settings, ref) == []


def test_a_steps_photo_is_read_by_the_assignee_and_the_cells_worker_only(
    client: TestClient, settings: Settings, grid: Grid, worker: User, operator: User
) -> None:
    incident = detect(settings, grid, 4, Severity.HIGH)
    me, op = bearer(settings, worker), bearer(settings, operator)
    on_site: list[tuple[dict[str, str], str, dict[str, Any]]] = [
        (op, "dispatch", {"assignees": [worker.id]}),
        (me, "accept", {}),
        (me, "arrive", {"gps": {"lat": 35.9, "lon": 114.3}}),
    ]
    for headers, action, body in on_site:
        ok(post(client, headers, incident, action, **body))
    files = {"photo": ("after.jpg", JPEG, "image/jpeg")}
    resolve = client.post(
        f"/v1/incidents/{incident}/resolve", data={"note": "put out"}, files=files, headers=me
    )
    photo = ok(resolve)["step"]["photo"]
    path = f"/v1/photos/{photo}"
    # The worker of cell 3, assigned to an incident of cell 4; the worker of cell 4.
    cells_worker = add_user(settings, "worker", grid.cells[4].id)
    for reader in (worker, cells_worker):
        assert client.get(path, headers=bearer(settings, reader)).content == JPEG
    elsewhere = add_user(settings, "worker", grid.cells[5].id)
    assert client.get(path, headers=bearer(settings, elsewhere)).status_code == 404
    assert audit(settings, photo) == [(worker.id, "photo.read"), (cells_worker.id, "photo.read")]
