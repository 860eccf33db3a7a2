"""The closed loop through the API, against PostgreSQL and Kafka: steps, refusals, endings."""

from __future__ import annotations

import asyncio
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
from gridwatch.accounts import User
from gridwatch.grid.model import Grid
from gridwatch.incidents import Evidence, IncidentDetected, IncidentEnded, Severity
from gridwatch.outbox_relay import relay_outbox
from gridwatch.photos import FilesystemPhotoStore
from gridwatch.settings import Settings
from gridwatch.store.incidents import record_detections
from gridwatch.store.migrate import migrate
from ingest.kafka_sink import KafkaSink
from tests.conftest import add_user, bearer, read_topic
from tests.integration.sinks import RefusingSink

pytestmark = pytest.mark.integration
CELL = 4
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture
def photos(tmp_path: Path) -> FilesystemPhotoStore:
    return FilesystemPhotoStore(tmp_path)


@pytest.fixture
def client(
    settings: Settings, grid: Grid, sink: KafkaSink, photos: FilesystemPhotoStore
) -> Iterator[TestClient]:
    with TestClient(create_app(settings, grid=grid, sink=sink, photos=photos)) as c:
        yield c


@pytest.fixture
def worker(settings: Settings, grid: Grid) -> User:
    return add_user(settings, "worker", grid.cells[CELL].id)


def detection(grid: Grid, cell_index: int, severity: Severity) -> IncidentDetected:
    """A new fire incident in a cell, as the incident stream reports it."""
    cell = grid.cells[cell_index]
    now = datetime.now(UTC)
    return IncidentDetected(
        incident_id=f"{cell.id}-fire-{uuid.uuid4().hex[:12]}",
        cell_id=cell.id,
        kind="hazard",
        category="fire",
        severity=severity,
        detector="fire/1",
        opened_at=now,
        evidence=Evidence(
            device_id=f"cam-{uuid.uuid4().hex[:6]}",
            event_id="e-1",
            type="blue-sky.fire",
            time=now,
            confidence=0.9,
            lon=cell.centroid[0],
            lat=cell.centroid[1],
        ),
    )


def detect(settings: Settings, grid: Grid, cell_index: int, severity: Severity) -> str:
    """A new fire incident in a cell, stored as the incident stream stores it; its id."""
    found = detection(grid, cell_index, severity)
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        migrate(conn)
        record_detections(conn, [found])
    return found.incident_id


@pytest.fixture
def incident(settings: Settings, grid: Grid) -> str:
    """A new critical fire in the worker's cell."""
    return detect(settings, grid, CELL, Severity.CRITICAL)


def post(
    client: TestClient, user_headers: dict[str, str], incident: str, action: str, **body: Any
) -> httpx.Response:
    response: httpx.Response = client.post(
        f"/v1/incidents/{incident}/{action}", json=body, headers=user_headers
    )
    return response


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refusal(response: httpx.Response) -> tuple[int, list[str]]:
    return response.status_code, [d["code"] for d in response.json()["detail"]]


def open_clocks(settings: Settings, incident: str) -> list[str]:
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT clock FROM incident_deadlines WHERE incident_id = %s AND done_at IS NULL",
            (incident,),
        ).fetchall()
    return [clock for (clock,) in rows]


def ending(settings: Settings, incident: str) -> IncidentEnded:
    records = read_topic(settings, "feedback", lambda r: incident.encode() in r.value)
    assert len(records) == 1
    return IncidentEnded.model_validate_json(records[0].value)


def test_the_full_loop_from_dispatch_to_close(
    client: TestClient,
    settings: Settings,
    grid: Grid,
    worker: User,
    operator: User,
    incident: str,
    photos: FilesystemPhotoStore,
) -> None:
    me, op = bearer(settings, worker), bearer(settings, operator)
    village = grid.cells[CELL].village_id
    checker = bearer(settings, add_user(settings, "supervisor", village))
    stranger = bearer(settings, add_user(settings, "worker", grid.cells[CELL + 1].id))

    sent = ok(post(client, op, incident, "dispatch", assignees=[worker.id]))
    assert (sent["status"], sent["assignees"], sent["clock"]["clock"]) == (
        "dispatched",
        [worker.id],
        "accept",
    )
    assert open_clocks(settings, incident) == ["accept"]
    queue = ok(client.get("/v1/me/queue", headers=me))["items"]
    mine = next(item for item in queue if item["incident_id"] == incident)
    assert mine["assigned_to_me"] and mine["clock"]["clock"] == "accept"
    assert 0 < mine["clock"]["seconds_left"] <= 5 * 60

    assert refusal(post(client, stranger, incident, "accept")) == (403, ["not_your_incident"])
    assert refusal(post(client, me, incident, "resolve", note="x")) == (409, ["wrong_status"])

    ok(post(client, me, incident, "accept"))
    assert open_clocks(settings, incident) == ["arrive"]  # no accept clock left to remind of
    fix = {"lat": 35.9, "lon": 114.3, "accuracy_m": 8.0}
    ok(post(client, me, incident, "arrive", gps=fix))
    # From the phone: a multipart form with the photo file and the fix as flat fields.
    done = ok(
        client.post(
            f"/v1/incidents/{incident}/resolve",
            data={"note": "put out", "lat": "35.9", "lon": "114.3", "accuracy_m": "8"},
            files={"photo": ("after.jpg", JPEG, "image/jpeg")},
            headers=me,
        )
    )
    assert (done["status"], done["clock"]) == ("resolved", None)
    photo = done["step"]["photo"]
    assert photos.get(photo) == (JPEG, "image/jpeg")
    assert open_clocks(settings, incident) == []

    assert refusal(post(client, me, incident, "verify")) == (409, ["forbidden_role"])
    ok(post(client, checker, incident, "verify", note="seen it"))
    closed = ok(post(client, op, incident, "close", note="done"))
    assert (closed["status"], closed["warnings"]) == ("closed", [])

    timeline = ok(client.get(f"/v1/incidents/{incident}/timeline", headers=me))
    steps = timeline["steps"]
    assert [s["action"] for s in steps] == [
        "dispatch",
        "accept",
        "arrive",
        "resolve",
        "verify",
        "close",
    ]
    assert steps[3]["photo"] == photo and steps[3]["gps"] == fix
    assert timeline["names"][worker.id] == worker.display_name
    assert timeline["names"][operator.id] == operator.display_name
    assert steps[0]["actor"] == {"id": operator.id, "role": "operator"}
    assert refusal(client.get(f"/v1/incidents/{incident}/timeline", headers=stranger))[0] == 403
    ended = ending(settings, incident)
    assert (ended.outcome, ended.false_alarm, ended.reason) == ("closed", False, "done")
    assert len(ended.devices) == 1 and ended.devices[0].startswith("cam-")


def test_the_audit_shows_every_step_and_every_read_of_its_photos(
    client: TestClient, settings: Settings, worker: User, operator: User, incident: str
) -> None:
    me, op = bearer(settings, worker), bearer(settings, operator)
    ok(post(client, op, incident, "dispatch", assignees=[worker.id]))
    ok(post(client, me, incident, "accept"))
    ok(post(client, me, incident, "arrive", gps={"lat": 35.9, "lon": 114.3}))
    done = client.post(
        f"/v1/incidents/{incident}/resolve",
        data={"note": "put out"},
        # Bytes of its own: a photo is named by its hash, and reads of the same bytes cited
        # by other tests' incidents would be on this incident's record too.
        files={"photo": ("after.jpg", JPEG + uuid.uuid4().bytes, "image/jpeg")},
        headers=me,
    )
    photo = ok(done)["step"]["photo"]
    assert client.get(f"/v1/photos/{photo}", headers=op).status_code == 200

    audit = ok(client.get(f"/v1/incidents/{incident}/audit", headers=op))
    lines = [(i["actor"], i["action"], i["target"]) for i in audit["items"]]
    assert lines == [
        (operator.id, "incident.dispatch", f"incident:{incident}"),
        (worker.id, "incident.accept", f"incident:{incident}"),
        (worker.id, "incident.arrive", f"incident:{incident}"),
        (worker.id, "incident.resolve", f"incident:{incident}"),
        (operator.id, "photo.read", photo),
    ]
    assert audit["items"][1]["detail"] == {"from": "dispatched", "to": "accepted", "level": "grid"}
    again = ok(client.get(f"/v1/incidents/{incident}/audit", headers=op))["items"]
    assert again[-1]["action"] == "incident.audit.read"  # the first read is on record
    assert refusal(client.get(f"/v1/incidents/{incident}/audit", headers=me)) == (
        403,
        ["forbidden_role"],
    )
    assert refusal(client.get("/v1/incidents/nope/audit", headers=op)) == (
        404,
        ["unknown_incident"],
    )


def test_incident_reads_need_a_sign_in_and_show_only_the_callers_area(
    client: TestClient, settings: Settings, grid: Grid, worker: User, operator: User
) -> None:
    mine = detect(settings, grid, CELL, Severity.HIGH)
    elsewhere = detect(settings, grid, CELL + 1, Severity.HIGH)
    me, op = bearer(settings, worker), bearer(settings, operator)
    assert refusal(client.get("/v1/incidents")) == (401, ["not_authenticated"])
    assert refusal(client.get(f"/v1/incidents/{mine}"))[0] == 401

    listed = {i["incident_id"] for i in ok(client.get("/v1/incidents", headers=me))["items"]}
    assert mine in listed and elsewhere not in listed
    assert {i["cell_id"] for i in ok(client.get("/v1/incidents", headers=me))["items"]} == {
        grid.cells[CELL].id
    }
    other_cell = client.get("/v1/incidents", params={"cell": grid.cells[CELL + 1].id}, headers=me)
    assert refusal(other_cell) == (403, ["not_your_cell"])
    assert ok(client.get(f"/v1/incidents/{mine}", headers=me))["incident_id"] == mine
    assert refusal(client.get(f"/v1/incidents/{elsewhere}", headers=me)) == (
        403,
        ["not_your_incident"],
    )
    theirs = client.get("/v1/incidents", params={"cell": grid.cells[CELL + 1].id}, headers=op)
    assert elsewhere in {i["incident_id"] for i in ok(theirs)["items"]}


def test_a_desk_lists_the_accounts_it_may_name(
    client: TestClient, settings: Settings, grid: Grid, worker: User, operator: User
) -> None:
    cell = grid.cells[CELL]
    boss = add_user(settings, "supervisor", cell.village_id)
    far = next(c for c in grid.cells if c.township_id != cell.township_id)
    stranger = add_user(settings, "worker", far.id)
    listed = ok(client.get("/v1/accounts", headers=bearer(settings, boss)))["items"]
    ids = {a["id"] for a in listed}
    assert {worker.id, boss.id, operator.id} <= ids and stranger.id not in ids
    mine = next(a for a in listed if a["id"] == worker.id)
    assert mine == {
        "id": worker.id,
        "display_name": worker.display_name,
        "role": "worker",
        "node": cell.id,
        "person_id": None,
    }
    everyone = ok(client.get("/v1/accounts", headers=bearer(settings, operator)))["items"]
    assert stranger.id in {a["id"] for a in everyone}
    assert refusal(client.get("/v1/accounts", headers=bearer(settings, worker))) == (
        403,
        ["forbidden"],
    )


def test_a_resolver_cannot_verify_their_own_work(
    client: TestClient,
    settings: Settings,
    grid: Grid,
    incident: str,
    photos: FilesystemPhotoStore,
) -> None:
    boss = add_user(settings, "supervisor", grid.cells[CELL].village_id)
    headers = bearer(settings, boss)
    ok(post(client, headers, incident, "dispatch", assignees=[boss.id]))
    ok(post(client, headers, incident, "accept"))
    ok(post(client, headers, incident, "arrive", gps={"lat": 35.9, "lon": 114.3}))
    photo = photos.put(JPEG, "image/jpeg")
    ok(post(client, headers, incident, "resolve", note="handled it myself", photo=photo))
    missing = photo[:-4] + "0000"
    assert refusal(post(client, headers, incident, "resolve", note="x", photo=missing)) == (
        422,
        ["unknown_photo"],
    )
    assert refusal(post(client, headers, incident, "verify")) == (409, ["resolver_cannot_verify"])


def test_cancel_as_false_alarm_needs_a_reason_and_feeds_back(
    client: TestClient, settings: Settings, operator: User, worker: User, incident: str
) -> None:
    op = bearer(settings, operator)
    blank = post(client, op, incident, "cancel", reason=" ", false_alarm=True)
    assert blank.status_code == 422
    assert refusal(post(client, bearer(settings, worker), incident, "cancel"))[0] == 422
    cancelled = ok(post(client, op, incident, "cancel", reason="a lamp", false_alarm=True))
    assert cancelled["status"] == "cancelled"
    assert refusal(post(client, op, incident, "dispatch", assignees=[worker.id])) == (
        409,
        ["terminal"],
    )
    ended = ending(settings, incident)
    assert (ended.outcome, ended.false_alarm, ended.reason) == ("cancelled", True, "a lamp")
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        audit = conn.execute(
            "SELECT actor, action FROM audit_log WHERE target = %s ORDER BY id",
            (f"incident:{incident}",),
        ).fetchall()
    assert audit == [(operator.id, "incident.cancel")]


def test_an_ending_the_log_refuses_waits_in_the_outbox_and_is_relayed_once(
    settings: Settings,
    grid: Grid,
    sink: KafkaSink,
    photos: FilesystemPhotoStore,
    operator: User,
    incident: str,
) -> None:
    app = create_app(settings, grid=grid, sink=RefusingSink(), photos=photos)
    with TestClient(app) as refusing:
        cancelled = ok(
            post(
                refusing,
                bearer(settings, operator),
                incident,
                "cancel",
                reason="glare",
                false_alarm=True,
            )
        )
    assert cancelled["status"] == "cancelled"
    assert [w["code"] for w in cancelled["warnings"]] == ["feedback_delayed"]
    assert "waits in the outbox" in cancelled["warnings"][0]["msg"]

    async def relay() -> int:
        async with await psycopg.AsyncConnection.connect(settings.postgres.conninfo()) as conn:
            return await relay_outbox(conn, sink)

    assert asyncio.run(relay()) >= 1
    ended = ending(settings, incident)  # exactly one record on the topic
    assert (ended.outcome, ended.false_alarm, ended.reason) == ("cancelled", True, "glare")


def test_bad_requests_are_refused_by_name(
    client: TestClient, settings: Settings, operator: User, incident: str
) -> None:
    op = bearer(settings, operator)
    assert refusal(post(client, op, incident, "dispatch", assignees=["nobody"])) == (
        422,
        ["unknown_assignee"],
    )
    assert refusal(post(client, op, "no-such-incident", "verify")) == (404, ["unknown_incident"])
    assert refusal(post(client, op, incident, "dispatch", actor="x", assignees=["a"]))[0] == 422
    assert client.post(f"/v1/incidents/{incident}/accept").status_code == 401
    assert client.post(f"/v1/incidents/{incident}/teleport", headers=op).status_code == 422


def test_a_step_sent_late_runs_on_the_servers_clock_and_audits_the_phones_time(
    client: TestClient, settings: Settings, worker: User, operator: User, incident: str
) -> None:
    me, op = bearer(settings, worker), bearer(settings, operator)
    ok(post(client, op, incident, "dispatch", assignees=[worker.id]))
    assert refusal(post(client, me, incident, "accept", at="10 o'clock")) == (422, ["invalid_time"])
    # Accepted in a dead spot 40 minutes ago, sent when the signal came back: the SLA clocks
    # and the timeline keep the server's time, which no phone can set back.
    taken = datetime.now(UTC) - timedelta(minutes=40)
    before = datetime.now(UTC)
    accepted = ok(post(client, me, incident, "accept", at=taken.isoformat()))
    assert before <= datetime.fromisoformat(accepted["step"]["at"]) <= datetime.now(UTC)
    audit = ok(client.get(f"/v1/incidents/{incident}/audit", headers=op))["items"]
    [line] = [i for i in audit if i["action"] == "incident.accept"]
    assert datetime.fromisoformat(line["detail"]["taken_at"]) == taken


def test_my_queue_is_most_severe_first_then_soonest_due(
    client: TestClient, settings: Settings, grid: Grid, operator: User
) -> None:
    cell = CELL + 2
    worker = add_user(settings, "worker", grid.cells[cell].id)
    op = bearer(settings, operator)
    first, second = (detect(settings, grid, cell, Severity.MEDIUM) for _ in range(2))
    worst = detect(settings, grid, cell, Severity.CRITICAL)
    elsewhere = detect(settings, grid, cell + 1, Severity.CRITICAL)
    for incident in (first, second, elsewhere):
        ok(post(client, op, incident, "dispatch", assignees=[worker.id]))
    queue = ok(client.get("/v1/me/queue", headers=bearer(settings, worker)))["items"]
    # A new incident has no stored clock until its first step: among the critical ones it
    # comes after the one whose accept clock runs. One from another cell shows because it
    # was sent to this worker; nothing else of other cells does.
    assert [(i["incident_id"], i["assigned_to_me"]) for i in queue] == [
        (elsewhere, True),
        (worst, False),
        (first, True),
        (second, True),
    ]


def last_step(client: TestClient, headers: dict[str, str], incident: str) -> dict[str, Any]:
    """The newest step of the incident's timeline, as `headers`' caller reads it."""
    steps: list[dict[str, Any]] = ok(
        client.get(f"/v1/incidents/{incident}/timeline", headers=headers)
    )["steps"]
    return steps[-1]


def test_a_desk_escalates_adding_its_people_and_raising_the_level(
    client: TestClient, settings: Settings, grid: Grid, worker: User, operator: User, incident: str
) -> None:
    me, op = bearer(settings, worker), bearer(settings, operator)
    boss = add_user(settings, "supervisor", grid.cells[CELL].village_id)
    up = bearer(settings, boss)
    ok(post(client, op, incident, "dispatch", assignees=[worker.id]))
    too_low = post(client, op, incident, "escalate", level="grid", reason="x", assignees=[boss.id])
    assert refusal(too_low) == (409, ["level_not_higher"])
    blank = post(client, up, incident, "escalate", level="village", reason=" ", assignees=[boss.id])
    assert blank.status_code == 422
    by_worker = post(
        client, me, incident, "escalate", level="village", reason="x", assignees=[boss.id]
    )
    assert refusal(by_worker) == (409, ["forbidden_role"])

    why = "not accepted in time"
    raised = ok(
        post(client, up, incident, "escalate", level="village", reason=why, assignees=[boss.id])
    )
    # The worker it went to first stays on it: they may still be the nearest.
    assert (raised["status"], raised["level"], raised["assignees"]) == (
        "escalated",
        "village",
        [worker.id, boss.id],
    )
    assert raised["clock"]["clock"] == "accept"
    step = last_step(client, me, incident)
    assert (step["action"], step["actor"], step["reason"], step["assignees"]) == (
        "escalate",
        {"id": boss.id, "role": "supervisor"},
        why,
        [boss.id],
    )
    county = ok(
        post(
            client,
            op,
            incident,
            "escalate",
            level="county",
            reason="fire spreads",
            assignees=[operator.id],
        )
    )
    assert (county["level"], county["assignees"]) == ("county", [worker.id, boss.id, operator.id])
    assert last_step(client, op, incident)["actor"] == {"id": operator.id, "role": "operator"}


def test_handing_back_empties_the_incident_for_dispatching_again(
    client: TestClient, settings: Settings, grid: Grid, worker: User, operator: User, incident: str
) -> None:
    me, op = bearer(settings, worker), bearer(settings, operator)
    neighbour = add_user(settings, "worker", grid.cells[CELL].id)  # sees the cell, not sent it
    ok(post(client, op, incident, "dispatch", assignees=[worker.id]))
    ok(post(client, me, incident, "accept"))
    assert refusal(post(client, me, incident, "hand-back", note="no reason")) == (
        422,
        ["invalid_missing"],
    )
    not_theirs = post(client, bearer(settings, neighbour), incident, "hand-back", reason="x")
    assert refusal(not_theirs) == (409, ["not_assigned"])
    # A desk does field work only on what was sent to it.
    assert refusal(post(client, op, incident, "hand-back", reason="x")) == (409, ["not_assigned"])

    why = "my motorbike broke down"
    back = ok(post(client, me, incident, "hand-back", reason=why, note="sorry"))
    assert (back["status"], back["assignees"], back["clock"]["clock"]) == ("returned", [], "accept")
    assert open_clocks(settings, incident) == ["accept"]
    step = last_step(client, op, incident)
    assert (step["action"], step["actor"], step["reason"], step["note"]) == (
        "hand_back",
        {"id": worker.id, "role": "worker"},
        why,
        "sorry",
    )
    # Returned waits for a dispatch (nobody holds it to reassign from), and the one who
    # handed it back can no longer go on with it.
    assert refusal(post(client, me, incident, "arrive", gps={"lat": 35.9, "lon": 114.3})) == (
        409,
        ["wrong_status"],
    )
    moved = post(client, op, incident, "reassign", assignees=[neighbour.id])
    assert refusal(moved) == (409, ["wrong_status"])
    again = ok(post(client, op, incident, "dispatch", assignees=[neighbour.id]))
    assert (again["status"], again["assignees"]) == ("dispatched", [neighbour.id])


def test_asking_for_help_is_recorded_and_changes_nothing_else(
    client: TestClient, settings: Settings, grid: Grid, worker: User, operator: User, incident: str
) -> None:
    me, op = bearer(settings, worker), bearer(settings, operator)
    neighbour = bearer(settings, add_user(settings, "worker", grid.cells[CELL].id))
    ok(post(client, op, incident, "dispatch", assignees=[worker.id]))
    assert refusal(post(client, me, incident, "help", note="x")) == (409, ["wrong_status"])
    accepted = ok(post(client, me, incident, "accept"))
    assert refusal(post(client, me, incident, "help", note="  ")) == (
        422,
        ["invalid_string_too_short"],
    )
    assert refusal(post(client, neighbour, incident, "help", note="x")) == (409, ["not_assigned"])

    helped = ok(post(client, me, incident, "help", note="two houses burning, need a second"))
    # Asking for help does not stop the clock: the arrive clock keeps its deadline.
    assert (helped["status"], helped["assignees"], helped["clock"]["due_at"]) == (
        "accepted",
        [worker.id],
        accepted["clock"]["due_at"],
    )
    step = last_step(client, op, incident)
    assert (step["action"], step["actor"], step["note"], step["from_status"]) == (
        "request_help",
        {"id": worker.id, "role": "worker"},
        "two houses burning, need a second",
        "accepted",
    )


def test_a_reassignment_moves_the_incident_to_the_new_queue(
    client: TestClient, settings: Settings, grid: Grid, worker: User, operator: User, incident: str
) -> None:
    op = bearer(settings, operator)
    first = add_user(settings, "worker", grid.cells[CELL + 3].id)
    second = add_user(settings, "worker", grid.cells[CELL + 4].id)
    boss = add_user(settings, "supervisor", grid.cells[CELL].village_id)

    def queued(user: User) -> dict[str, bool]:
        """The user's queue: whether each incident in it is assigned to them."""
        items = ok(client.get("/v1/me/queue", headers=bearer(settings, user)))["items"]
        return {i["incident_id"]: i["assigned_to_me"] for i in items}

    ok(post(client, op, incident, "dispatch", assignees=[first.id]))
    ok(post(client, bearer(settings, first), incident, "accept"))
    assert queued(first)[incident]
    # The worker of the incident's cell sees it, but only a desk may move it.
    by_worker = post(client, bearer(settings, worker), incident, "reassign", assignees=[worker.id])
    assert refusal(by_worker) == (409, ["forbidden_role"])
    assert refusal(post(client, op, incident, "reassign", reason="x")) == (
        422,
        ["invalid_missing"],
    )

    why = "the first is stuck at the river"
    moved = ok(
        post(
            client, bearer(settings, boss), incident, "reassign", assignees=[second.id], reason=why
        )
    )
    assert (moved["status"], moved["assignees"], moved["clock"]["clock"]) == (
        "dispatched",
        [second.id],
        "accept",
    )
    step = last_step(client, op, incident)
    assert (step["action"], step["actor"], step["assignees"], step["reason"]) == (
        "reassign",
        {"id": boss.id, "role": "supervisor"},
        [second.id],
        why,
    )
    assert queued(second)[incident] and incident not in queued(first)
    # The first worker, in another cell and no longer sent it, may not act on it any more.
    gone = post(client, bearer(settings, first), incident, "arrive", gps={"lat": 1, "lon": 2})
    assert refusal(gone) == (403, ["not_your_incident"])
    ok(post(client, bearer(settings, second), incident, "accept"))
