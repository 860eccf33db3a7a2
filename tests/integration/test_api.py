"""The HTTP API in-process, against the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape

from api.app import create_app
from gridwatch.accounts import User
from gridwatch.geo.crs import wgs84_to_bd09
from gridwatch.grid.model import Grid
from gridwatch.incidents import Severity
from gridwatch.settings import Settings
from gridwatch.store.migrate import migrate
from tests.conftest import add_user, bearer
from tests.integration.test_api_cases import CELL, detect

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(settings: Settings, grid: Grid) -> Iterator[TestClient]:
    with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
        migrate(conn)
    with TestClient(create_app(settings, grid=grid)) as c:
        yield c


def test_health_and_readiness(client: TestClient, grid: Grid) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["postgres"]["ok"] is True
    assert body["checks"]["grid"]["detail"] == f"{len(grid)} cells"


def test_locate_cell_in_every_crs(client: TestClient, grid: Grid) -> None:
    cell = grid.cells[7]
    lon, lat = cell.centroid
    body = client.get("/v1/cells", params={"lat": lat, "lon": lon}).json()
    assert body["cell_id"] == cell.id
    assert body["township_id"] == cell.township_id
    blon, blat = wgs84_to_bd09(lon, lat)
    bd = client.get("/v1/cells", params={"lat": blat, "lon": blon, "crs": "bd09"}).json()
    assert bd["cell_id"] == cell.id


def test_errors_have_one_shape_and_a_specific_code(
    client: TestClient, operator_headers: dict[str, str]
) -> None:
    outside = client.get("/v1/cells", params={"lat": 39.9, "lon": 116.4})
    assert outside.status_code == 404
    assert outside.json() == {
        "detail": [
            {"msg": "no grid cell holds lat=39.9, lon=116.4 (wgs84)", "code": "outside_grid"}
        ]
    }
    bad = client.get("/v1/cells", params={"lat": 95, "lon": "x"})
    assert bad.status_code == 422
    codes = {d["code"] for d in bad.json()["detail"]}
    assert codes == {"invalid_less_than_equal", "invalid_float_parsing"}
    op = operator_headers
    nope = client.get("/v1/incidents/nope", headers=op)
    assert nope.json()["detail"][0]["code"] == "unknown_incident"
    assert client.get("/v1/incidents", params={"cell": "nope"}, headers=op).status_code == 404
    status = client.get("/v1/incidents", params={"status": "burning"}, headers=op)
    assert status.status_code == 422
    assert status.json()["detail"][0]["msg"].startswith("query.status:")
    assert client.get("/v1/nothing").json()["detail"][0]["code"] == "not_found"


def test_the_grid_map_is_every_cell_with_its_hierarchy(client: TestClient, grid: Grid) -> None:
    response = client.get("/v1/cells/map", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    # Zipped for phones on a weak signal: a fraction of the JSON's size goes over the air.
    assert response.headers["content-encoding"] == "gzip"
    assert response.num_bytes_downloaded < len(response.content) / 4
    doc = response.json()
    assert doc["type"] == "FeatureCollection"
    assert doc["gridwatch"]["adcode"] == grid.county
    features = {f["id"]: f for f in doc["features"]}
    assert list(features) == [c.id for c in grid.cells]
    cell = grid.cells[7]
    feature = features[cell.id]
    assert feature["properties"] == {
        "cell_id": cell.id,
        "township_id": cell.township_id,
        "township_name": cell.township_name,
        "village_id": cell.village_id,
        "village_name": cell.village_name,
        "area_km2": cell.area_km2,
    }
    assert shape(feature["geometry"]).equals(cell.polygon)


def test_desks_see_open_incidents_with_people_and_running_clocks(
    client: TestClient, settings: Settings, grid: Grid, operator_headers: dict[str, str]
) -> None:
    cell = grid.cells[CELL]
    worker = add_user(settings, "worker", cell.id)
    held, dropped = (
        detect(settings, grid, CELL, Severity.HIGH),
        detect(settings, grid, CELL, Severity.CRITICAL),
    )
    sent = client.post(
        f"/v1/incidents/{held}/dispatch", json={"assignees": [worker.id]}, headers=operator_headers
    )
    assert sent.status_code == 200, sent.text
    cancel = {"reason": "a test", "false_alarm": False}
    ended = client.post(f"/v1/incidents/{dropped}/cancel", json=cancel, headers=operator_headers)
    assert ended.status_code == 200, ended.text

    page = client.get("/v1/cells/queue", params={"cell": cell.id}, headers=operator_headers)
    assert page.status_code == 200, page.text
    items = {i["incident_id"]: i for i in page.json()["items"]}
    assert dropped not in items
    item = items[held]
    assert (item["status"], item["level"], item["assignees"]) == ("dispatched", "grid", [worker.id])
    assert (item["clock"]["clock"], item["severity"]) == ("accept", 3)
    assert 0 < item["clock"]["seconds_left"] <= 15 * 60


def test_the_open_queue_is_for_desks_under_their_node(
    client: TestClient, settings: Settings, grid: Grid
) -> None:
    held = detect(settings, grid, CELL, Severity.LOW)
    cell = grid.cells[CELL]
    other = next(t.id for t in grid.townships() if t.id != cell.township_id)
    own_view = add_user(settings, "supervisor", cell.township_id)
    elsewhere = add_user(settings, "supervisor", other)

    def seen(user: User) -> set[str]:
        page = client.get("/v1/cells/queue", headers=bearer(settings, user))
        assert page.status_code == 200, page.text
        return {i["incident_id"] for i in page.json()["items"]}

    assert held in seen(own_view)
    assert held not in seen(elsewhere)
    # The area is applied before the limit: a worse incident elsewhere does not crowd theirs out.
    far = next(n for n, c in enumerate(grid.cells) if c.township_id == other)
    detect(settings, grid, far, Severity.CRITICAL)
    page = client.get("/v1/cells/queue", params={"limit": 1}, headers=bearer(settings, own_view))
    [first] = page.json()["items"]
    mine = grid.get(first["cell_id"])
    assert mine is not None and mine.township_id == cell.township_id
    outside = client.get(
        "/v1/cells/queue", params={"cell": cell.id}, headers=bearer(settings, elsewhere)
    )
    assert (outside.status_code, outside.json()["detail"][0]["code"]) == (403, "not_your_cell")
    worker = add_user(settings, "worker", cell.id)
    refused = client.get("/v1/cells/queue", headers=bearer(settings, worker))
    assert (refused.status_code, refused.json()["detail"][0]["code"]) == (403, "forbidden")
    unknown = client.get(
        "/v1/cells/queue", params={"cell": "nope"}, headers=bearer(settings, own_view)
    )
    assert (unknown.status_code, unknown.json()["detail"][0]["code"]) == (404, "unknown_cell")
