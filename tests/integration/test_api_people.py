"""The people API on the imported sample roster: listing, a person, duty, location, changes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from alerts.dispatch_people import first_assignees
from api.app import create_app
from gridwatch.accounts import User
from gridwatch.cli import main
from gridwatch.grid.model import Grid
from gridwatch.incidents import Severity
from gridwatch.people import Role
from gridwatch.settings import Settings
from gridwatch.store.cases import read_case
from tests.conftest import REPO, add_user, bearer, environ
from tests.integration.test_api_cases import detect

pytestmark = pytest.mark.integration
SAMPLE = REPO / "gridwatch" / "data" / "tangyin" / "roster-sample.json"
NOW = datetime.now(UTC).replace(microsecond=0)
ALL_WEEK = {"weekdays": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "00:00"}
# A shift on one day long past: on the roster, never on duty.
LONG_AGO = {"dates": ["2020-01-01"], "start": "08:00", "end": "20:00"}


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


def put(client: TestClient, headers: dict[str, str], person_id: str, **body: Any) -> httpx.Response:
    """PUT /v1/people/{person_id} with `body`."""
    answer: httpx.Response = client.put(f"/v1/people/{person_id}", json=body, headers=headers)
    return answer


def worker_body(cell: str, *shifts: dict[str, Any]) -> dict[str, Any]:
    """A worker of `cell` with `shifts`."""
    return {"name": "网格员", "role": "worker", "level": "grid", "node": cell, "shifts": shifts}


def new_worker(client: TestClient, headers: dict[str, str], cell: str, suffix: str) -> str:
    """A worker of `cell` on duty all week, created by PUT; their person id."""
    person_id = f"W-{cell[:10]}-{suffix}"
    created = put(client, headers, person_id, **worker_body(cell, ALL_WEEK))
    assert created.status_code == 201, created.text
    return person_id


def codes(answer: httpx.Response) -> tuple[int, list[str]]:
    return answer.status_code, [d["code"] for d in answer.json()["detail"]]


def audit(settings: Settings, person_id: str) -> list[tuple[Any, ...]]:
    """The audit rows about the person: actor, action and detail, oldest first."""
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        return conn.execute(
            "SELECT actor, action, detail FROM audit_log WHERE target = %s ORDER BY id",
            (f"person:{person_id}",),
        ).fetchall()


def dispatched(
    client: TestClient,
    headers: dict[str, str],
    settings: Settings,
    grid: Grid,
    *,
    cell: int,
    to: User,
    count: int,
) -> list[str]:
    """`count` new fires in the cell, each dispatched by an operator to the account `to`."""
    incidents = [detect(settings, grid, cell, Severity.CRITICAL) for _ in range(count)]
    for incident in incidents:
        body = {"assignees": [to.id]}
        sent = client.post(f"/v1/incidents/{incident}/dispatch", json=body, headers=headers)
        assert sent.status_code == 200, sent.text
    return incidents


def first_choice(settings: Settings, grid: Grid, incident: str) -> list[str]:
    """The accounts the dispatcher's assignment would send the incident to now."""

    async def choose() -> list[str]:
        async with await psycopg.AsyncConnection.connect(settings.postgres.conninfo()) as conn:
            stored = await read_case(conn, incident)
            assert stored is not None
            accounts, _ = await first_assignees(
                conn, stored, grid=grid, cfg=settings.assignment, at=datetime.now(UTC)
            )
            return accounts

    return asyncio.run(choose())


def test_an_operator_creates_then_replaces_a_person_and_the_audit_shows_both(
    client: TestClient, settings: Settings, grid: Grid, operator: User
) -> None:
    headers = bearer(settings, operator)
    cell = grid.cells[1].id
    person_id = f"W-{cell[:10]}-new"
    created = put(client, headers, person_id, **worker_body(cell, ALL_WEEK))
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["id"], body["active"], body["load"], body["duty"]["on_duty"]) == (
        person_id,
        True,
        0,
        True,
    )
    assert put(client, headers, person_id, **worker_body(cell, ALL_WEEK)).status_code == 200
    moved = put(client, headers, person_id, **worker_body(cell, LONG_AGO), phone="+8613800000000")
    assert moved.status_code == 200
    detail = client.get(f"/v1/people/{person_id}", headers=headers).json()
    assert detail["phone"] == "+8613800000000"
    assert [(s["dates"], s["start"]) for s in detail["shifts"]] == [(["2020-01-01"], "08:00:00")]
    assert detail["duty"]["on_duty"] is False
    rows = audit(settings, person_id)
    assert [(actor, action, d["added"]) for actor, action, d in rows] == [
        (operator.id, "person.put", True),
        (operator.id, "person.put", False),
        (operator.id, "person.put", False),
    ]
    assert rows[2][2]["shifts"][0]["dates"] == ["2020-01-01"]


def test_a_removed_person_stays_known_and_can_come_back(
    client: TestClient, settings: Settings, grid: Grid, operator_headers: dict[str, str]
) -> None:
    cell = grid.cells[2].id
    person_id = new_worker(client, operator_headers, cell, "gone")
    assert client.delete(f"/v1/people/{person_id}", headers=operator_headers).status_code == 204
    detail = client.get(f"/v1/people/{person_id}", headers=operator_headers).json()
    assert (detail["active"], detail["shifts"]) == (False, [])
    listed = client.get("/v1/people", params={"node": cell}, headers=operator_headers).json()
    assert person_id not in [p["id"] for p in listed["items"]]
    again = client.delete(f"/v1/people/{person_id}", headers=operator_headers)
    assert again.status_code == 204
    missing = client.delete("/v1/people/W-nobody", headers=operator_headers)
    assert codes(missing) == (404, ["person_not_found"])
    back = put(client, operator_headers, person_id, **worker_body(cell, ALL_WEEK))
    assert (back.status_code, back.json()["active"]) == (200, True)
    assert [(a, d.get("was_active")) for _, a, d in audit(settings, person_id)] == [
        ("person.put", None),
        ("person.remove", True),
        ("person.remove", False),
        ("person.put", None),
    ]


@pytest.mark.parametrize("role", ["worker", "mediator", "supervisor"])
def test_only_operators_and_admins_change_the_roster(
    client: TestClient, settings: Settings, grid: Grid, operator: User, role: Role
) -> None:
    cell = grid.cells[0]
    node = cell.id if role == "worker" else cell.village_id
    headers = bearer(settings, add_user(settings, role, node))
    sample = f"W-{cell.id.rstrip('f')}"
    assert codes(put(client, headers, sample, **worker_body(cell.id))) == (403, ["forbidden"])
    assert codes(client.delete(f"/v1/people/{sample}", headers=headers)) == (403, ["forbidden"])
    fresh = f"W-{cell.id[:10]}-{role}"
    assert codes(put(client, headers, fresh, **worker_body(cell.id))) == (403, ["forbidden"])
    assert client.get(f"/v1/people/{fresh}", headers=bearer(settings, operator)).status_code == 404
    assert client.get(f"/v1/people/{sample}", headers=bearer(settings, operator)).json()["active"]
    assert audit(settings, fresh) == []


def test_an_admin_may_change_the_roster(client: TestClient, settings: Settings, grid: Grid) -> None:
    headers = bearer(settings, add_user(settings, "admin", grid.county))
    person_id = f"M-{grid.cells[0].village_id}-x"
    body = {
        "name": "调解员",
        "role": "mediator",
        "level": "village",
        "node": grid.cells[0].village_id,
    }
    assert put(client, headers, person_id, **body).status_code == 201


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        (
            {"level": "village"},
            "invalid_value_error",
            "a worker belongs to level grid, not village",
        ),
        ({"node": "8831aaaaaaaaaaa"}, "unknown_node", "no grid node '8831aaaaaaaaaaa'"),
        ({"shifts": [ALL_WEEK | LONG_AGO]}, "invalid_value_error", "either weekdays or dates"),
        ({"shifts": [ALL_WEEK | {"start": "08:00+08:00"}]}, "invalid_value_error", "wall-clock"),
        (
            {"shifts": [ALL_WEEK | {"weekdays": [8]}]},
            "invalid_less_than_equal",
            "less than or equal",
        ),
        ({"name": ""}, "invalid_string_too_short", "body.name"),
        ({"role": "boss"}, "invalid_literal_error", "body.role"),
        ({"id": "W-other"}, "invalid_extra_forbidden", "body.id"),
    ],
)
def test_a_bad_person_is_refused_by_name_and_nothing_is_stored(
    client: TestClient,
    settings: Settings,
    grid: Grid,
    operator_headers: dict[str, str],
    change: dict[str, Any],
    code: str,
    words: str,
) -> None:
    cell = grid.cells[1].id
    person_id = f"W-{cell[:10]}-bad"
    answer = put(client, operator_headers, person_id, **(worker_body(cell, ALL_WEEK) | change))
    assert codes(answer) == (422, [code])
    assert words in answer.json()["detail"][0]["msg"]
    missing = client.get(f"/v1/people/{person_id}", headers=operator_headers)
    assert missing.status_code == 404
    assert audit(settings, person_id) == []


def test_load_counts_the_open_incidents_assigned_to_the_persons_account(
    client: TestClient, settings: Settings, grid: Grid, operator_headers: dict[str, str]
) -> None:
    cell = grid.cells[4].id
    person_id = new_worker(client, operator_headers, cell, "load")
    account = add_user(settings, "worker", cell, person_id=person_id)
    incidents = dispatched(client, operator_headers, settings, grid, cell=4, to=account, count=3)
    cancel = {"reason": "a permitted burn", "false_alarm": True}
    called_off = client.post(
        f"/v1/incidents/{incidents[0]}/cancel", json=cancel, headers=operator_headers
    )
    assert called_off.status_code == 200, called_off.text
    detail = client.get(f"/v1/people/{person_id}", headers=operator_headers).json()
    assert detail["load"] == 2
    page = client.get("/v1/people", params={"node": cell}, headers=operator_headers).json()
    assert {p["id"]: p["load"] for p in page["items"]} == {
        f"W-{cell.rstrip('f')}": 0,
        person_id: 2,
    }


def test_assignment_passes_a_loaded_worker_over_and_never_picks_a_removed_one(
    client: TestClient, settings: Settings, grid: Grid, operator_headers: dict[str, str]
) -> None:
    cell = grid.cells[3].id
    sample = f"W-{cell.rstrip('f')}"
    assert client.delete(f"/v1/people/{sample}", headers=operator_headers).status_code == 204
    # The busy worker's id sorts first: only its load can put it behind the other.
    busy, free = (new_worker(client, operator_headers, cell, n) for n in ("a", "b"))
    accounts = {p: add_user(settings, "worker", cell, person_id=p) for p in (busy, free)}
    dispatched(client, operator_headers, settings, grid, cell=3, to=accounts[busy], count=2)
    fire = detect(settings, grid, 3, Severity.CRITICAL)
    assert first_choice(settings, grid, fire) == [accounts[free].id]
    assert client.delete(f"/v1/people/{free}", headers=operator_headers).status_code == 204
    assert first_choice(settings, grid, fire) == [accounts[busy].id]
