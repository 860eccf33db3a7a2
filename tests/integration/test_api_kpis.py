"""KPIs, series, air trends and the public page through the API, against PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from fastapi.testclient import TestClient

from alerts import commands as cmd
from alerts.flows import apply_command
from api.app import create_app
from gridwatch.accounts import User
from gridwatch.grid.model import Cell, Grid
from gridwatch.incidents import Evidence, IncidentDetected, Severity
from gridwatch.records import RoutedEvent
from gridwatch.settings import Settings
from gridwatch.store.events import EventSeries
from gridwatch.store.incidents import record_detections
from gridwatch.store.migrate import migrate
from ingest.validate import route_message
from tests.conftest import REPO, add_user, bearer
from tests.integration.test_api_cases import ok, refusal

pytestmark = pytest.mark.integration
LOCAL = ZoneInfo("Asia/Shanghai")
# A local midnight far from the other tests' incidents, which are all opened "now".
T = datetime(2026, 1, 5, tzinfo=LOCAL)
WINDOW = {"from": (T - timedelta(hours=1)).isoformat(), "to": (T + timedelta(days=1)).isoformat()}
FIX = cmd.GpsFix(lat=35.9, lon=114.3, accuracy_m=5.0)
SECRET_NOTE = "找到了王秘密家的钥匙 behind the shed"
AIR_FIXTURE = REPO / "tests/fixtures/events/blue-sky.air/straw-burning-episode.json"


@dataclass(frozen=True)
class Place:
    """The cells the scenario uses: two villages of one township, and another township."""

    v1: Cell
    v2: Cell
    other: Cell


@dataclass(frozen=True)
class Scenario:
    """The seeded incidents and the people who worked them."""

    place: Place
    worker: User
    incidents: tuple[str, ...]


@pytest.fixture(scope="module")
def place(grid: Grid) -> Place:
    v1 = grid.cells[0]
    v2 = next(
        c for c in grid.cells if c.township_id == v1.township_id and c.village_id != v1.village_id
    )
    other = next(c for c in grid.cells if c.township_id != v1.township_id)
    return Place(v1=v1, v2=v2, other=other)


@pytest.fixture
def client(settings: Settings, grid: Grid) -> Iterator[TestClient]:
    with TestClient(create_app(settings, grid=grid)) as c:
        yield c


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def detected(cell: Cell, opened: float, *, silent: bool = False) -> IncidentDetected:
    """A critical fire (or a silent camera) in `cell` opened `opened` seconds after T."""
    what = (
        ("maintenance", "no_signal", Severity.LOW)
        if silent
        else ("hazard", "fire", Severity.CRITICAL)
    )
    kind, category, severity = what
    return IncidentDetected(
        incident_id=f"{cell.id}-{category}-{uuid.uuid4().hex[:12]}",
        cell_id=cell.id,
        kind=kind,
        category=category,
        severity=severity,
        detector="health/1" if silent else "fire/1",
        opened_at=at(opened),
        evidence=Evidence(
            device_id=f"cam-{uuid.uuid4().hex[:6]}",
            event_id="e-1",
            type="blue-sky.fire",
            time=at(opened),
            confidence=0.9,
            lon=cell.centroid[0],
            lat=cell.centroid[1],
        ),
    )


async def walk(settings: Settings, incident: str, steps: list[tuple[float, cmd.Command]]) -> None:
    """Apply each command at T + its seconds, as the API and the dispatcher store them."""
    async with await psycopg.AsyncConnection.connect(settings.postgres.conninfo()) as conn:
        for seconds, command in steps:
            async with conn.transaction():
                await apply_command(
                    conn,
                    incident,
                    command,
                    at=at(seconds),
                    sla_cfg=settings.sla,
                    guard=lambda _: None,
                )


@pytest.fixture(scope="module")
def scenario(settings: Settings, grid: Grid, place: Place) -> Scenario:
    """Four critical fires (SLA: accept 5 min, resolve 4 h from arrival) with known timelines.

    i1 (village 1): accepted after 120 s, resolved after 1,200 s, on time, closed at 1,400 s.
    i2 (village 1): accepted late (600 s), resolved after 18,700 s, late, closed at 19,000 s.
    i3 (village 2): cancelled as a false alarm at 200 s.
    i4 (other township): dispatched, escalated at 400 s (late), then left: still open.
    i5 (other township): a silent camera (maintenance), handled on time, closed at 400 s.
    """
    worker = add_user(settings, "worker", place.v1.id)
    boss = add_user(settings, "supervisor", place.v1.village_id)
    op = cmd.Actor(id="u-op", role="operator")
    me = cmd.Actor(id=worker.id, role="worker")
    checker = cmd.Actor(id=boss.id, role="supervisor")
    found = [detected(place.v1, 0), detected(place.v1, 0), detected(place.v2, 100)]
    found += [detected(place.other, 0), detected(place.other, 0, silent=True)]
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        migrate(conn)
        record_detections(conn, found)
    i1, i2, i3, i4, i5 = (f.incident_id for f in found)

    def loop(accept: float, arrive: float, resolve: float, close: float) -> list[Any]:
        return [
            (60, cmd.Dispatch(actor=op, assignees=(worker.id,))),
            (accept, cmd.Accept(actor=me)),
            (arrive, cmd.Arrive(actor=me, gps=FIX)),
            (resolve, cmd.Resolve(actor=me, note=SECRET_NOTE, gps=FIX)),
            (close - 100, cmd.Verify(actor=checker, note=SECRET_NOTE)),
            (close, cmd.Close(actor=op, note=SECRET_NOTE)),
        ]

    async def seed() -> None:
        await walk(settings, i1, loop(120, 600, 1200, 1400))
        await walk(settings, i2, loop(600, 700, 18700, 19000))
        cancel = cmd.Cancel(actor=op, reason="a permitted burn", false_alarm=True)
        await walk(
            settings, i3, [(160, cmd.Dispatch(actor=op, assignees=(worker.id,))), (200, cancel)]
        )
        escalate = cmd.Escalate(actor=op, level="village", reason="late", assignees=(boss.id,))
        await walk(
            settings, i4, [(60, cmd.Dispatch(actor=op, assignees=(worker.id,))), (400, escalate)]
        )
        await walk(settings, i5, loop(100, 200, 300, 400))

    asyncio.run(seed())
    return Scenario(place=place, worker=worker, incidents=(i1, i2, i3, i4, i5))


def by_id(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {n["node_id"]: n for n in nodes}


def test_kpis_per_village_count_what_happened(
    client: TestClient, scenario: Scenario, operator_headers: dict[str, str], grid: Grid
) -> None:
    page = ok(
        client.get("/v1/kpis", params={"level": "village", **WINDOW}, headers=operator_headers)
    )
    nodes = by_id(page["nodes"])
    assert len(nodes) == len(grid.villages())  # every village, zeros included
    v1 = nodes[scenario.place.v1.village_id]
    assert {k: v1[k] for k in ("open", "detected", "closed", "cancelled", "accepted")} == {
        "open": 0,
        "detected": 2,
        "closed": 2,
        "cancelled": 0,
        "accepted": 2,
    }
    # percentile_cont over 120 and 600; over 1,200 and 18,700.
    assert (v1["accept_p50_s"], v1["accept_p90_s"]) == (360.0, 552.0)
    assert (v1["resolve_p50_s"], v1["resolve_p90_s"]) == (9950.0, 16950.0)
    assert (v1["resolved"], v1["resolved_on_time"], v1["resolved_on_time_share"]) == (2, 1, 0.5)
    # i2: its accept clock ran out at 360 s (accepted 600 s), its resolve clock at 15,100 s.
    assert (v1["breaches"], v1["escalations"]) == (2, 0)
    v2 = nodes[scenario.place.v2.village_id]
    assert (v2["detected"], v2["cancelled"], v2["open"], v2["breaches"]) == (1, 1, 0, 0)
    assert v2["accept_p50_s"] is None and v2["resolved_on_time_share"] is None
    other = nodes[scenario.place.other.village_id]
    # i4: the grid clock ran out at 360 s before the escalation; the village clock since 700 s.
    assert (other["open"], other["breaches"], other["escalations"]) == (1, 2, 1)
    assert (other["detected"], other["closed"], other["resolved_on_time_share"]) == (2, 1, 1.0)
    assert v1["name"] == scenario.place.v1.village_name
    assert v1["township_id"] == scenario.place.v1.township_id


def test_a_kind_filter_counts_that_kind_only(
    client: TestClient, scenario: Scenario, operator_headers: dict[str, str]
) -> None:
    params = {"level": "village", "kind": "hazard", **WINDOW}
    page = ok(client.get("/v1/kpis", params=params, headers=operator_headers))
    other = by_id(page["nodes"])[scenario.place.other.village_id]
    assert (page["kind"], other["detected"], other["closed"], other["open"]) == ("hazard", 1, 0, 1)
    params = {"level": "village", "kind": "maintenance", "bucket": "day", **WINDOW}
    page = ok(client.get("/v1/kpis/series", params=params, headers=operator_headers))
    points = by_id(page["nodes"])[scenario.place.other.village_id]["points"]
    assert [(p["detected"], p["closed"]) for p in points] == [(0, 0), (1, 1)]


def test_open_is_counted_at_the_end_of_the_window(
    client: TestClient, scenario: Scenario, operator_headers: dict[str, str]
) -> None:
    # At T + 1,000 s, i1 and i2 are not closed yet; i3 was cancelled at 200 s.
    params = {"level": "township", "from": T.isoformat(), "to": at(1000).isoformat()}
    page = ok(client.get("/v1/kpis", params=params, headers=operator_headers))
    town = by_id(page["nodes"])[scenario.place.v1.township_id]
    assert (town["open"], town["detected"], town["closed"], town["cancelled"]) == (2, 3, 0, 1)
    assert (page["from"], page["to"]) == (T.isoformat(), at(1000).isoformat())


def test_series_per_township_and_hour(
    client: TestClient, scenario: Scenario, operator_headers: dict[str, str]
) -> None:
    params = {
        "level": "township",
        "bucket": "hour",
        "from": T.isoformat(),
        "to": at(6 * 3600).isoformat(),
    }
    page = ok(client.get("/v1/kpis/series", params=params, headers=operator_headers))
    assert len(page["starts"]) == 6 and page["starts"][0] == T.isoformat()
    town = by_id(page["nodes"])[scenario.place.v1.township_id]
    points = [
        (p["detected"], p["closed"], p["resolved"], p["resolve_p50_s"]) for p in town["points"]
    ]
    assert points == [
        (3, 1, 1, 1200.0),
        (0, 0, 0, None),
        (0, 0, 0, None),
        (0, 0, 0, None),
        (0, 0, 0, None),
        (0, 1, 1, 18700.0),  # resolved at 5 h 11 min 40 s, closed at 5 h 16 min 40 s
    ]
    daily = {"level": "township", "bucket": "day", **WINDOW}
    page = ok(client.get("/v1/kpis/series", params=daily, headers=operator_headers))
    # The window starts an hour before local midnight: two local days.
    assert page["starts"] == [(T - timedelta(days=1)).isoformat(), T.isoformat()]
    town = by_id(page["nodes"])[scenario.place.v1.township_id]
    assert [p["detected"] for p in town["points"]] == [0, 3]


def test_supervisors_see_their_own_subtree_only(
    client: TestClient, scenario: Scenario, settings: Settings
) -> None:
    place = scenario.place
    village_boss = bearer(settings, add_user(settings, "supervisor", place.v1.village_id))
    page = ok(client.get("/v1/kpis", params={"level": "village", **WINDOW}, headers=village_boss))
    assert [n["node_id"] for n in page["nodes"]] == [place.v1.village_id]
    cells = ok(client.get("/v1/kpis", params={"level": "cell", **WINDOW}, headers=village_boss))
    assert place.v1.id in by_id(cells["nodes"]) and place.v2.id not in by_id(cells["nodes"])
    up = client.get("/v1/kpis", params={"level": "township", **WINDOW}, headers=village_boss)
    assert refusal(up) == (403, ["outside_your_area"])

    town_boss = bearer(settings, add_user(settings, "supervisor", place.v1.township_id))
    page = ok(
        client.get("/v1/kpis/series", params={"level": "village", **WINDOW}, headers=town_boss)
    )
    assert {n["node_id"] for n in page["nodes"]} >= {place.v1.village_id, place.v2.village_id}
    assert place.other.village_id not in by_id(page["nodes"])
    elsewhere = {"level": "village", "township": place.other.township_id, **WINDOW}
    assert refusal(client.get("/v1/kpis", params=elsewhere, headers=town_boss)) == (
        403,
        ["outside_your_area"],
    )


@pytest.mark.parametrize("role", ["worker", "mediator"])
def test_field_roles_get_no_figures(
    client: TestClient, settings: Settings, place: Place, role: str
) -> None:
    node = place.v1.id if role == "worker" else place.v1.village_id
    headers = bearer(settings, add_user(settings, role, node))  # type: ignore[arg-type]
    for path in ("/v1/kpis", "/v1/kpis/series", "/v1/air/aq-x"):
        response = client.get(path, params={"level": "township"}, headers=headers)
        assert refusal(response) == (403, ["forbidden"]), path


def test_figures_need_a_token(client: TestClient) -> None:
    assert refusal(client.get("/v1/kpis", params={"level": "county"})) == (
        401,
        ["not_authenticated"],
    )


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/v1/kpis", {"level": "province"}, "invalid_literal_error"),
        ("/v1/kpis", {}, "invalid_missing"),
        (
            "/v1/kpis",
            {
                "level": "cell",
                "from": "2026-01-06T00:00:00+08:00",
                "to": "2026-01-05T00:00:00+08:00",
            },
            "invalid_window",
        ),
        ("/v1/kpis", {"level": "cell", "from": "2026-01-05T00:00:00"}, "invalid_time"),
        ("/v1/kpis", {"level": "cell", "from": "yesterday"}, "invalid_datetime_from_date_parsing"),
        ("/v1/kpis", {"level": "village", "township": "T99"}, "unknown_township"),
        ("/v1/kpis", {"level": "county", "township": "T01"}, "invalid_filter"),
        ("/v1/kpis/series", {"bucket": "week"}, "invalid_literal_error"),
        ("/v1/kpis", {"level": "cell", "kind": "rumour"}, "invalid_literal_error"),
        (
            "/v1/kpis/series",
            {"bucket": "hour", "from": "2025-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            "too_many_buckets",
        ),
        ("/v1/air/aq-x", {"bucket": "minute"}, "invalid_literal_error"),
        (
            "/v1/public/villages",
            {"from": "2026-01-06T00:00:00Z", "to": "2026-01-06T00:00:00Z"},
            "invalid_window",
        ),
    ],
)
def test_bad_parameters_are_named(
    client: TestClient,
    operator_headers: dict[str, str],
    path: str,
    params: dict[str, str],
    code: str,
) -> None:
    response = client.get(path, params=params, headers=operator_headers)
    assert refusal(response) == (422, [code])
    assert response.json()["detail"][0]["msg"]


def store_air(settings: Settings, grid: Grid, device: str) -> list[dict[str, Any]]:
    """The recorded straw-burning episode, as `device`, stored as the alerts process stores it."""
    events = json.loads(AIR_FIXTURE.read_text("utf-8"))
    routed = []
    for doc in events:
        doc = doc | {
            "source": f"urn:gridwatch:device:{device}",
            "id": doc["id"].replace("aq-0107", device),
        }
        r = route_message(
            f"gridwatch/v1/blue-sky/{device}/events",
            json.dumps(doc).encode(),
            grid=grid,
            received_at=datetime.fromisoformat(doc["time"]),
        )
        assert isinstance(r, RoutedEvent)
        routed.append(r)
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        migrate(conn)
        EventSeries().record(conn, routed, today=routed[0].event.time.date())
    data: list[dict[str, Any]] = [doc["data"] for doc in events]
    return data


def test_air_trend_of_a_station(
    client: TestClient, settings: Settings, grid: Grid, operator_headers: dict[str, str]
) -> None:
    device = f"aq-{uuid.uuid4().hex[:6]}"
    readings = store_air(settings, grid, device)
    params = {"from": "2026-10-12T16:00:00+08:00", "to": "2026-10-12T19:00:00+08:00"}
    trend = ok(client.get(f"/v1/air/{device}", params=params, headers=operator_headers))
    points = trend["points"]
    assert [p["start"] for p in points] == [
        "2026-10-12T16:00:00+08:00",
        "2026-10-12T17:00:00+08:00",
        "2026-10-12T18:00:00+08:00",
    ]
    # 16:30 to 16:55: six readings; PM2.5 mean 44.17 sets the AQI (HJ 633-2026: 50 + 50·9.17/25).
    first = points[0]
    assert first["readings"] == 6
    assert first["pm25"] == round(sum(r["pm25"] for r in readings[:6]) / 6, 2)
    assert (first["aqi"], first["primary"], first["level"]) == (69, ["pm25"], "良")
    # The episode: the 18:00 hour is far worse than the 16:00 one.
    assert points[2]["aqi"] > 150 and points[2]["level_en"] != first["level_en"]
    assert trend["cell_id"] == grid.locate(114.3571, 35.9213).id  # type: ignore[union-attr]

    daily = ok(
        client.get(
            f"/v1/air/{device}", params={**params, "bucket": "day"}, headers=operator_headers
        )
    )
    assert [p["readings"] for p in daily["points"]] == [30]

    quiet = {"from": "2026-10-13T00:00:00+08:00", "to": "2026-10-14T00:00:00+08:00"}
    nothing = ok(client.get(f"/v1/air/{device}", params=quiet, headers=operator_headers))
    assert (nothing["points"], nothing["cell_id"]) == ([], None)
    unknown = client.get("/v1/air/aq-nobody", headers=operator_headers)
    assert refusal(unknown) == (404, ["unknown_station"])


def test_public_villages_need_no_sign_in_and_name_no_one(
    client: TestClient, scenario: Scenario, grid: Grid
) -> None:
    response = client.get("/v1/public/villages", params=WINDOW)
    page = ok(response)
    assert response.headers["cache-control"] == "public, max-age=300"
    villages = {v["village_id"]: v for v in page["villages"]}
    assert len(villages) == len(grid.villages())
    v1 = villages[scenario.place.v1.village_id]
    assert v1 == {
        "village_id": scenario.place.v1.village_id,
        "village_name": scenario.place.v1.village_name,
        "township_id": scenario.place.v1.township_id,
        "township_name": scenario.place.v1.township_name,
        "handled": 2,
        "resolved": 2,
        "resolve_p50_s": 9950.0,
        "resolved_on_time_share": 0.5,
    }
    # The silent camera closed in the other village is maintenance: not shown to the public.
    assert villages[scenario.place.other.village_id]["handled"] == 0
    text = response.text
    worker = scenario.worker
    for secret in (
        worker.id,
        worker.username,
        worker.display_name,
        SECRET_NOTE,
        *scenario.incidents,
    ):
        assert secret not in text
    # The default window is the last 30 days, which our January incidents are not in.
    recent = ok(client.get("/v1/public/villages"))
    assert recent["villages"][0].keys() == v1.keys()
    assert scenario.place.v1.village_id in {v["village_id"] for v in recent["villages"]}


def test_the_public_page_is_answered_from_memory_for_a_minute(client: TestClient) -> None:
    # The default window ends when the answer is made: the same end means the same answer.
    first = ok(client.get("/v1/public/villages"))
    again = ok(client.get("/v1/public/villages"))
    assert again["to"] == first["to"]
    other = ok(client.get("/v1/public/villages", params=WINDOW))
    assert other["to"] != first["to"]
