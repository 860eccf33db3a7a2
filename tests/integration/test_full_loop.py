"""The closed loop on the real platform: an MQTT event reaches a worker's phone and is closed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import httpx
import pytest
from kafka.consumer.fetcher import ConsumerRecord

from gridwatch.accounts import User
from gridwatch.grid.model import Cell, Grid
from gridwatch.incidents import IncidentEnded
from gridwatch.settings import Settings
from gridwatch.wire import FEEDBACK_RECORD
from tests.conftest import Proc, read_topic, wait_until
from tests.far_cells import FarCells
from tests.integration.platform import PIPELINE_TIMEOUT, device, now, publish, start_platform
from tests.integration.staff import PASSWORD, staff_on_duty
from tests.support import event

pytestmark = pytest.mark.integration
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(scope="module")
def cell(far_cells: FarCells) -> Cell:
    """A cell no other module dispatches in or raises incidents near."""
    return far_cells.one()


@pytest.fixture(scope="module")
def staff(settings: Settings, grid: Grid, cell: Cell) -> dict[str, User]:
    return staff_on_duty(settings, grid, cell)


@pytest.fixture(scope="module")
def running(
    settings: Settings, procs: Callable[..., Proc], staff: dict[str, User]
) -> dict[str, Proc]:
    """The distributed mode with the dispatcher."""
    started = start_platform(settings, procs)
    return started | {"dispatch": procs("dispatch")}


@pytest.fixture(scope="module")
def platform(settings: Settings, running: dict[str, Proc]) -> Iterator[httpx.Client]:
    """A client of the running platform's API."""
    with httpx.Client(base_url=f"http://{settings.api.host}:{settings.api.port}") as client:
        yield client


def sign_in(api: httpx.Client, user: User) -> dict[str, str]:
    """Headers of a real sign-in through the OAuth2 password flow."""
    answer = api.post("/v1/auth/token", data={"username": user.username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def first_push(settings: Settings, token: str, then: Callable[[], None]) -> dict[str, Any]:
    """Open the phone's socket, run `then`, and return the first notification pushed."""
    url = f"ws://{settings.api.host}:{settings.api.port}/v1/ws"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, params={"token": token}) as socket,
    ):
        await asyncio.to_thread(then)
        message = await socket.receive(timeout=PIPELINE_TIMEOUT)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    pushed: dict[str, Any] = json.loads(message.data)
    return pushed


def step(api: httpx.Client, headers: dict[str, str], incident: str, action: str, **kw: Any) -> str:
    """One lifecycle step; the incident's status after it."""
    answer = api.post(f"/v1/incidents/{incident}/{action}", headers=headers, **kw)
    assert answer.status_code == 200, answer.text
    status: str = answer.json()["status"]
    return status


def test_an_mqtt_fire_is_pushed_to_the_worker_and_closed_by_the_loop(
    settings: Settings,
    platform: httpx.Client,
    running: dict[str, Proc],
    staff: dict[str, User],
    cell: Cell,
) -> None:
    api = platform
    worker, boss = sign_in(api, staff["worker"]), sign_in(api, staff["supervisor"])
    token = worker["Authorization"].removeprefix("Bearer ")
    lon, lat = cell.centroid
    dev = device()
    fire = event(device=dev, event_id=f"{dev}-1", at=now(), lon=lon, lat=lat)

    pushed = asyncio.run(first_push(settings, token, lambda: publish(settings, dev, fire)))

    # The socket's URL carried the token; the API's log must not.
    logged = running["api"].log_path.read_text("utf-8")
    assert "/v1/ws?token=[redacted]" in logged and token not in logged
    note = pushed["notification"]
    assert (pushed["type"], note["kind"], note["cell_id"]) == ("notification", "assigned", cell.id)
    assert note["recipient"] == staff["worker"].id
    incident = note["incident_id"]
    # The live push may come before the queue writer stored the notification: ack once stored.
    ack_url = f"/v1/me/notifications/{note['notification_id']}/ack"
    ack = wait_until(
        lambda: (r := api.post(ack_url, headers=worker)).status_code == 200 and r,
        timeout=30,
        what="the notification to be stored and acknowledged",
    )
    assert ack.json()["state"] == "acked"
    queue = api.get("/v1/me/queue", headers=worker).json()["items"]
    assert [i["incident_id"] for i in queue if i["assigned_to_me"]] == [incident]

    fix = {"lat": lat, "lon": lon, "accuracy_m": 8}
    assert step(api, worker, incident, "accept") == "accepted"
    assert step(api, worker, incident, "arrive", json={"gps": fix}) == "on_site"
    form = {"note": "稻草火已扑灭", **{k: str(v) for k, v in fix.items()}}
    resolved = step(
        api, worker, incident, "resolve", data=form, files={"photo": ("after.jpg", JPEG)}
    )
    assert resolved == "resolved"
    refused = api.post(f"/v1/incidents/{incident}/verify", headers=worker)
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"][0]["code"] == "forbidden_role"
    assert step(api, boss, incident, "verify", json={"note": "现场核查无误"}) == "verified"
    assert step(api, boss, incident, "close") == "closed"

    timeline = api.get(f"/v1/incidents/{incident}/timeline", headers=boss).json()
    actions = [s["action"] for s in timeline["steps"]]
    assert actions == ["dispatch", "accept", "arrive", "resolve", "verify", "close"]
    resolve = timeline["steps"][3]
    assert resolve["photo"] and resolve["gps"]["lat"] == pytest.approx(lat)
    assert api.get("/v1/me/queue", headers=worker).json()["items"] == []
    audit = api.get(f"/v1/incidents/{incident}/audit", headers=boss).json()["items"]
    assert [(i["actor"], i["action"]) for i in audit if i["action"] != "photo.read"][:2] == [
        ("sla-timer", "incident.dispatch"),
        (staff["worker"].id, "incident.accept"),
    ]

    def ours(record: ConsumerRecord) -> bool:
        ended = FEEDBACK_RECORD.validate_json(record.value)
        return isinstance(ended, IncidentEnded) and ended.incident_id == incident

    [record] = read_topic(settings, "feedback", ours, timeout=30)
    ended = FEEDBACK_RECORD.validate_json(record.value)
    assert isinstance(ended, IncidentEnded)
    assert (ended.outcome, ended.false_alarm, ended.devices) == ("closed", False, [dev])
