"""The people API on the imported sample roster: listing, a person, duty and location."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gridwatch.accounts import User
from gridwatch.cli import main
from gridwatch.grid.model import Grid
from gridwatch.settings import Settings
from tests.conftest import REPO, add_user, bearer, environ

pytestmark = pytest.mark.integration
SAMPLE = REPO / "gridwatch" / "data" / "tangyin" / "roster-sample.json"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def client(run_env: dict[str, str], settings: Settings, grid: Grid) -> Iterator[TestClient]:
    with environ(run_env):
        assert main(["people", "import", str(SAMPLE)]) == 0
    with TestClient(create_app(settings, grid=grid)) as c:
        yield c


@pytest.fixture(scope="module")
def cell(grid: Grid) -> str:
    return grid.cells[0].id


@pytest.fixture(scope="module")
def worker(settings: Settings, cell: str) -> User:
    """The account of the sample roster's worker of the first cell."""
    return add_user(settings, "worker", cell, person_id=f"W-{cell.rstrip('f')}")


def test_operators_list_people_by_node_and_role(
    client: TestClient, operator_headers: dict[str, str], cell: str, grid: Grid
) -> None:
    page = client.get("/v1/people", params={"node": cell}, headers=operator_headers).json()
    assert page["count"] == 1
    assert page["items"][0]["id"] == f"W-{cell.rstrip('f')}"
    admins = client.get("/v1/people", params={"role": "admin"}, headers=operator_headers).json()
    assert [p["node"] for p in admins["items"]] == [grid.county]


def test_a_worker_may_not_list_people(client: TestClient, settings: Settings, worker: User) -> None:
    answer = client.get("/v1/people", headers=bearer(settings, worker))
    assert answer.status_code == 403
    assert answer.json()["detail"][0]["code"] == "forbidden"


def test_a_person_shows_shifts_duty_and_fix(
    client: TestClient, settings: Settings, worker: User, operator_headers: dict[str, str]
) -> None:
    assert worker.person_id is not None
    mine = client.get(f"/v1/people/{worker.person_id}", headers=bearer(settings, worker))
    assert mine.status_code == 200
    detail = mine.json()
    assert detail["active"] is True
    assert [(s["start"], s["end"], len(s["weekdays"])) for s in detail["shifts"]] == [
        ("08:00:00", "20:00:00", 6)
    ]
    assert set(detail["duty"]) == {"person_id", "on_duty", "override"}
    other = client.get("/v1/people/O-410523-D", headers=bearer(settings, worker))
    assert other.status_code == 403
    missing = client.get("/v1/people/W-nobody", headers=operator_headers)
    assert (missing.status_code, missing.json()["detail"][0]["code"]) == (404, "person_not_found")


def test_duty_overrides_the_roster_and_is_audited(
    client: TestClient, settings: Settings, worker: User
) -> None:
    headers = bearer(settings, worker)
    off = client.post("/v1/me/duty", json={"on_duty": False}, headers=headers)
    assert off.status_code == 200
    assert off.json() == {
        "person_id": worker.person_id,
        "on_duty": False,
        "override": {"on_duty": False, "until": None},
    }
    refused = client.post(
        "/v1/me/location", json={"lat": 35.9, "lon": 114.3, "accuracy_m": 8}, headers=headers
    )
    assert (refused.status_code, refused.json()["detail"][0]["code"]) == (409, "off_duty")
    until = (NOW + timedelta(hours=2)).isoformat()
    on = client.post("/v1/me/duty", json={"on_duty": True, "until": until}, headers=headers)
    assert on.json()["on_duty"] is True
    past = client.post(
        "/v1/me/duty", json={"on_duty": True, "until": "2020-01-01T00:00:00Z"}, headers=headers
    )
    assert (past.status_code, past.json()["detail"][0]["code"]) == (422, "until_in_past")
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT actor, detail->>'on_duty' FROM audit_log WHERE action = 'person.duty'"
            " AND target = %s ORDER BY id",
            (f"person:{worker.person_id}",),
        ).fetchall()
    assert rows == [(worker.id, "false"), (worker.id, "true")]


def test_the_newest_fix_is_kept(client: TestClient, settings: Settings, worker: User) -> None:
    headers = bearer(settings, worker)
    until = (NOW + timedelta(hours=2)).isoformat()
    assert client.post("/v1/me/duty", json={"on_duty": True, "until": until}, headers=headers)
    fix = {"lat": 35.9, "lon": 114.35, "accuracy_m": 8.0, "at": NOW.isoformat()}
    first = client.post("/v1/me/location", json=fix, headers=headers).json()
    assert first["stored"] is True
    late = fix | {"lat": 36.0, "at": (NOW - timedelta(minutes=5)).isoformat()}
    second = client.post("/v1/me/location", json=late, headers=headers).json()
    assert second == {"stored": False, "last_fix": first["last_fix"]}
    # A phone on an Amap map sends GCJ-02; the fix is kept in WGS-84.
    newer = fix | {"crs": "gcj02", "at": (NOW + timedelta(seconds=30)).isoformat()}
    third = client.post("/v1/me/location", json=newer, headers=headers).json()
    assert third["stored"] is True
    assert third["last_fix"]["lat"] != pytest.approx(35.9, abs=1e-5)
    ahead = fix | {"at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    refused = client.post("/v1/me/location", json=ahead, headers=headers)
    assert (refused.status_code, refused.json()["detail"][0]["code"]) == (422, "fix_in_future")
    detail = client.get(f"/v1/people/{worker.person_id}", headers=headers).json()
    assert detail["last_fix"] == third["last_fix"]


@pytest.mark.parametrize(
    ("person_id", "code"), [(None, "no_person"), ("W-gone", "person_not_on_roster")]
)
def test_an_account_without_a_person_on_the_roster_gets_409(
    client: TestClient, settings: Settings, cell: str, person_id: str | None, code: str
) -> None:
    headers = bearer(settings, add_user(settings, "worker", cell, person_id=person_id))
    for path, body in (
        ("/v1/me/duty", {"on_duty": True}),
        ("/v1/me/location", {"lat": 35.9, "lon": 114.3, "accuracy_m": 5}),
    ):
        answer = client.post(path, json=body, headers=headers)
        assert (answer.status_code, answer.json()["detail"][0]["code"]) == (409, code)
