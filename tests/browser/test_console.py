"""The operator console against the running platform, in headless Chromium at 1920×1080."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from gridwatch.grid.model import Cell
from tests.browser.conftest import Account, access_token
from tests.conftest import wait_until
from tests.far_cells import FarCells
from tests.integration.platform import PIPELINE_TIMEOUT, Mode, device, now
from tests.support import event

pytestmark = pytest.mark.integration
# The fill of a cell whose worst open incident is critical (api/static/console/map.js).
CRITICAL_FILL = "#ff1f4f"
Enrol = Callable[..., Account]
Shot = Callable[[Page, str], Path]


def sign_in(desk: BrowserContext, account: Account) -> Page:
    """The console, signed in as `account` through its form."""
    page = desk.new_page()
    page.goto("/console/")
    page.get_by_label("用户名").fill(account.username)
    page.get_by_label("密码").fill(account.password)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#board")).to_be_visible()
    return page


def open_incident_in(
    api: httpx.Client,
    token: str,
    cell: Cell,
    *,
    status: str = "dispatched",
    category: str | None = None,
) -> str:
    """The id of the incident (of `category`, if given) brought to `status` in `cell`."""
    headers = {"Authorization": f"Bearer {token}"}

    def found() -> str | None:
        page = api.get("/v1/cells/queue", params={"cell": cell.id}, headers=headers).json()
        ready = [
            i["incident_id"]
            for i in page["items"]
            if i["status"] == status and category in (None, i["category"])
        ]
        return ready[0] if ready else None

    incident: str = wait_until(found, timeout=PIPELINE_TIMEOUT, what=f"a {status} incident")
    return incident


def fire_in(mode: Mode, cell: Cell) -> None:
    """A Blue Sky camera in `cell` sees flames, over MQTT through the real broker."""
    lon, lat = cell.centroid
    dev = device()
    doc = event("blue-sky.fire", device=dev, event_id=f"{dev}-1", at=now(), lon=lon, lat=lat)
    mode.publish(dev, doc)


def air_station_in(mode: Mode, cell: Cell, hours: int = 24) -> None:
    """A station in `cell` that reported every hour for `hours`, so the trend has a shape."""
    lon, lat = cell.centroid
    dev = f"aq-{device()}"
    start = now() - timedelta(hours=hours)
    for h in range(hours):
        pm25 = round(30 + 25 * math.sin(h / 4), 1)
        doc = event(
            "blue-sky.air",
            device=dev,
            event_id=f"{dev}-{h}",
            at=start + timedelta(hours=h),
            lon=lon,
            lat=lat,
            pm25=pm25,
            pm10=round(pm25 * 1.6, 1),
        )
        mode.publish(dev, doc)


def reports_around(api: httpx.Client, far_cells: FarCells) -> None:
    """People's reports of every severity in a few other cells: the wall as on a working day."""
    categories = ("smoke", "fight", "quarrel", "crowd", "other", "other")
    for category, cell in zip(categories, far_cells.take(len(categories)), strict=True):
        lon, lat = cell.centroid
        note = f"{category} seen from the road"
        report = {"category": category, "note": note, "location": {"lat": lat, "lon": lon}}
        assert api.post("/v1/reports", json=report).status_code == 201


def test_an_incident_from_mqtt_colours_its_cell_and_the_operator_reassigns_it(
    desk: BrowserContext,
    api: httpx.Client,
    mode: Mode,
    enrol: Enrol,
    field_cell: Cell,
    far_cells: FarCells,
    shot: Shot,
) -> None:
    operator, workers = enrol("operator"), [enrol("worker"), enrol("worker")]
    page = sign_in(desk, operator)
    cell = page.locator(f'#map path[data-cell="{field_cell.id}"]')
    expect(cell).to_have_attribute("data-open", "0", timeout=30_000)
    calm = cell.get_attribute("fill")

    air_station_in(mode, field_cell)
    reports_around(api, far_cells)
    fire_in(mode, field_cell)
    expect(cell).to_have_attribute("data-severity", "4", timeout=PIPELINE_TIMEOUT * 1000)
    expect(cell).to_have_attribute("fill", CRITICAL_FILL)
    assert calm != CRITICAL_FILL

    headers = {"Authorization": f"Bearer {access_token(api, operator)}"}
    incident = open_incident_in(api, access_token(api, operator), field_cell)
    [held] = api.get(f"/v1/incidents/{incident}/timeline", headers=headers).json()["assignees"]
    other = next(w.user.id for w in workers if w.user.id != held)
    expect(page.locator(f'#sla tr[data-incident="{incident}"]')).to_contain_text("已派发")
    expect(page.locator(f'#ticker li[data-incident="{incident}"]').first).to_contain_text("火情")
    expect(page.locator("#chart-air path.series").first).to_be_visible(timeout=30_000)
    shot(page, "console-map")
    cell.dispatch_event("click")
    listed = page.locator(f'#drawer li[data-incident="{incident}"]')
    expect(listed).to_be_visible()
    # The cell's queue is polled every few seconds; a poll that changes nothing must leave the
    # list as it is, or a click whose press and release straddle it would be lost.
    item = listed.element_handle()
    for _ in range(2):  # the first poll's answer is drawn (or not) long before the second's
        with page.expect_response(lambda r: "/v1/cells/queue?cell=" in r.url):
            pass
    assert item.evaluate("(li) => li.isConnected")
    listed.click()
    expect(page.locator('#drawer dd[data-field="assignees"]')).to_contain_text(f"({held})")
    page.get_by_role("button", name="改派", exact=True).click()
    form = page.locator('form[data-action="reassign"]')
    form.get_by_label("处置人账号").fill(other)
    form.get_by_label("原因").fill("离得更近")
    form.get_by_role("button").click()
    expect(page.locator("#action-notice")).to_contain_text("已完成：改派 → 已派发")
    expect(page.locator('#drawer dd[data-field="assignees"]')).to_contain_text(f"({other})")
    expect(page.locator("#drawer .timeline li").last).to_contain_text("离得更近")
    # The audit under the timeline: the dispatcher's step and the operator's, by name.
    audit = page.locator("#drawer .audit li")
    expect(audit.filter(has_text="incident.dispatch")).to_contain_text("sla-timer")
    expect(audit.filter(has_text="incident.reassign")).to_contain_text(operator.user.display_name)
    shot(page, "console-incident")

    timeline = api.get(f"/v1/incidents/{incident}/timeline", headers=headers).json()
    assert timeline["assignees"] == [other]
    assert timeline["steps"][-1]["actor"]["id"] == operator.user.id


def test_a_cancel_without_a_reason_is_refused_and_the_console_says_why(
    desk: BrowserContext,
    api: httpx.Client,
    mode: Mode,
    enrol: Enrol,
    field_cell: Cell,
    shot: Shot,
) -> None:
    operator = enrol("operator")
    enrol("worker")
    fire_in(mode, field_cell)
    incident = open_incident_in(api, access_token(api, operator), field_cell)
    page = sign_in(desk, operator)
    page.locator(f'#sla tr[data-incident="{incident}"]').click()
    page.get_by_role("button", name="误报/取消").click()
    form = page.locator('form[data-action="cancel"]')
    form.get_by_label("是", exact=True).check()
    form.get_by_role("button").click()
    expect(form.get_by_role("alert")).to_contain_text("被拒绝")
    expect(form.get_by_role("alert")).to_contain_text("缺少必填项：原因")
    expect(form.get_by_role("alert")).to_contain_text("body.reason")
    shot(page, "console-cancel-refused")
    page.get_by_role("button", name="English").click()
    expect(page.locator("h1")).to_have_text("Monitoring center · grid incidents")
    expect(page.locator("#drawer")).to_contain_text("Audit log")
    shot(page, "console-en")

    headers = {"Authorization": f"Bearer {access_token(api, operator)}"}
    assert api.get(f"/v1/incidents/{incident}", headers=headers).json()["status"] != "cancelled"


def test_a_stale_access_token_is_renewed_once_for_many_requests(
    desk: BrowserContext, enrol: Enrol
) -> None:
    page = sign_in(desk, enrol("operator"))
    expect(page.locator("#updated")).not_to_be_empty()
    refreshes: list[int] = []
    page.on(
        "response",
        lambda r: refreshes.append(r.status) if r.url.endswith("/v1/auth/refresh") else None,
    )
    # An access token the API refuses, as after a night's sleep, met by three requests at once.
    statuses = page.evaluate(
        """async () => {
            const key = "gridwatch.console.tokens";
            const held = JSON.parse(sessionStorage.getItem(key));
            sessionStorage.setItem(key, JSON.stringify({ ...held, access_token: "stale" }));
            const { api } = await import("/console/api.js");
            const calls = ["/v1/auth/me", "/v1/devices", "/v1/cells/queue?limit=1"].map(api);
            return (await Promise.allSettled(calls)).map((c) => c.status);
        }"""
    )
    assert statuses == ["fulfilled"] * 3
    assert refreshes == [200]
    page.reload()
    expect(page.locator("#board")).to_be_visible()
    expect(page.locator("#sign-in")).to_be_hidden()
