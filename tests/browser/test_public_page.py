"""The public transparency page against the running platform: figures per village, nobody's data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from gridwatch.grid.model import Cell
from tests.browser.conftest import Account, access_token
from tests.browser.test_console import open_incident_in

pytestmark = pytest.mark.integration
NAME = "王秀英"
PHONE = "13912345678"
REPORT = f"{NAME}（电话 {PHONE}）与邻居因宅基地争吵"
RESOLUTION = f"已调解，{NAME} 签字确认"
CLOSING = f"回访 {NAME}，满意"


def step(api: httpx.Client, token: str, incident: str, action: str, **body: Any) -> None:
    """One step of the loop through the API, which must accept it."""
    answer = api.post(
        f"/v1/incidents/{incident}/{action}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text


def test_the_public_page_counts_a_handled_case_and_shows_nobody(
    desk: BrowserContext,
    api: httpx.Client,
    enrol: Callable[..., Account],
    field_cell: Cell,
    shot: Callable[[Page, str], Path],
) -> None:
    operator, worker = enrol("operator"), enrol("worker")
    lon, lat = field_cell.centroid
    by_worker, by_operator = access_token(api, worker), access_token(api, operator)
    filed = api.post(
        "/v1/reports",
        json={"category": "quarrel", "note": REPORT, "location": {"lat": lat, "lon": lon}},
        headers={"Authorization": f"Bearer {by_worker}"},
    )
    assert filed.status_code == 201, filed.text
    # Other modules' reports may land in this cell too: ours is the quarrel.
    incident = open_incident_in(api, by_operator, field_cell, category="quarrel")
    step(api, by_worker, incident, "accept")
    step(api, by_worker, incident, "arrive", gps={"lat": lat, "lon": lon, "accuracy_m": 8})
    step(api, by_worker, incident, "resolve", note=RESOLUTION)
    step(api, by_operator, incident, "verify")
    step(api, by_operator, incident, "close", note=CLOSING)

    page = desk.new_page()
    bodies: list[str] = []

    def keep(response: Response) -> None:
        if response.request.resource_type in ("fetch", "xhr", "document"):
            bodies.append(response.text())

    page.on("response", keep)
    page.goto("/public/")
    row = page.locator(f'tr[data-village="{field_cell.village_id}"]')
    expect(row.locator("td").nth(1)).to_have_text("1", timeout=30_000)
    expect(row).to_contain_text("100%")
    shot(page, "public-villages")
    page.get_by_role("button", name="English").click()
    expect(page.locator("h1")).to_contain_text("Open government")
    shot(page, "public-villages-en")

    seen = [page.content(), *bodies]
    secrets = [NAME, PHONE, REPORT, RESOLUTION, incident, worker.username, worker.person_id]
    secrets += [worker.user.id, operator.user.id, operator.username, "snapshot", "photo:"]
    leaks = sorted({s for s in secrets for text in seen if s in text})
    assert leaks == [], f"the public page shows {leaks}"
    assert any(field_cell.village_id in text for text in bodies), "no figures were fetched"
