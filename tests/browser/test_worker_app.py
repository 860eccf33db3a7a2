"""The grid worker's phone app against the running platform, in headless Chromium."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from gridwatch.grid.model import Cell, Grid
from gridwatch.settings import Settings
from tests.browser.conftest import Account, access_token
from tests.integration.platform import PIPELINE_TIMEOUT, device, now, publish
from tests.support import event

pytestmark = pytest.mark.integration

PHOTO = Path(__file__).parent / "fixtures" / "after.jpg"
# Playwright counts in milliseconds; the pipeline's budget is the integration tests' own.
PIPELINE_MS = PIPELINE_TIMEOUT * 1000
SYNC_MS = 60_000
# Incidents of different tests must not be fused into one: their cells lie this far apart.
APART_M = 3000.0


def metres(a: Cell, b: Cell) -> float:
    """Distance between two cells' centroids (equirectangular; cells are a few km apart)."""
    (lon1, lat1), (lon2, lat2) = a.centroid, b.centroid
    dx = (lon1 - lon2) * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, lat1 - lat2) * 111_320


@pytest.fixture(scope="module")
def cells(grid: Grid, field_cell: Cell) -> list[Cell]:
    """`field_cell` and three more, far enough apart that fusion keeps their incidents apart."""
    chosen = [field_cell]
    start = grid.cells.index(field_cell)
    for cell in grid.cells[start:] + grid.cells[:start]:
        if all(metres(cell, c) > APART_M for c in chosen):
            chosen.append(cell)
        if len(chosen) == 4:
            return chosen
    pytest.fail("the grid has no four cells far enough apart")


def fire(settings: Settings, cell: Cell) -> str:
    """A fire seen by a new camera at the cell's centre, published over MQTT; the device id."""
    lon, lat = cell.centroid
    dev = device()
    publish(settings, dev, event(device=dev, event_id=f"{dev}-1", at=now(), lon=lon, lat=lat))
    return dev


@pytest.fixture
def page(phone: BrowserContext) -> Iterator[Page]:
    """The app's page on the phone; the browser's console is shown when a test fails."""
    opened = phone.new_page()
    logs: list[str] = []
    opened.on("console", lambda m: logs.append(f"{m.type}: {m.text}"))
    opened.on("pageerror", lambda e: logs.append(f"error: {e}"))
    yield opened
    print("\n".join(logs))  # noqa: T201 — pytest shows it only for a failed test


def sign_in(page: Page, account: Account) -> None:
    """Open the app and sign in; done when the queue is on screen."""
    page.goto("/app/")
    page.fill("#username", account.username)
    page.fill("#password", account.password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="我的任务")).to_be_visible()


def arrived_incident(page: Page) -> str:
    """Wait for an incident card in the queue; its id."""
    card = page.locator(".card[data-incident]").first
    expect(card).to_be_visible(timeout=PIPELINE_MS)
    incident = card.get_attribute("data-incident")
    assert incident
    return incident


def timeline(api: httpx.Client, account: Account, incident: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {access_token(api, account)}"}
    answer = api.get(f"/v1/incidents/{incident}/timeline", headers=headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_a_pushed_fire_is_accepted_and_resolved_with_photo_and_fix(
    settings: Settings,
    api: httpx.Client,
    page: Page,
    enrol: Callable[..., Account],
    cells: list[Cell],
    shot: Callable[..., Path],
) -> None:
    cell = cells[0]
    worker = enrol("worker", cell.id)
    page.goto("/app/")
    shot(page, "worker-signin")
    sign_in(page, worker)
    expect(page.locator("#net")).to_have_attribute("data-state", "online")
    fire(settings, cell)

    # The push reaches the open app: its alert says so, and the queue shows the incident.
    expect(page.locator("#toast")).to_contain_text("新任务", timeout=PIPELINE_MS)
    shot(page, "worker-pushed")
    incident = arrived_incident(page)
    expect(page.locator(".card .badge[data-status]")).to_have_text("待签收")
    expect(page.locator(".card .clock[data-due]")).to_contain_text("剩余")
    shot(page, "worker-queue")

    page.locator(".card").first.click()
    expect(page.locator("#map svg .incident")).to_be_visible()
    page.get_by_role("button", name="签收").click()
    expect(page.locator(".badge[data-status]")).to_have_text("已签收")
    page.get_by_role("button", name="到场").click()
    expect(page.locator(".badge[data-status]")).to_have_text("已到场")
    page.get_by_role("button", name="办结").click()
    page.fill("#f-note", "稻草火已扑灭，现场无人员受伤")
    page.set_input_files("#f-photo", str(PHOTO))
    expect(page.locator("#f-gps")).to_have_attribute("data-fix", "1")
    expect(page.locator("form.step img.thumb")).to_be_visible()
    shot(page, "worker-resolve")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".badge[data-status]")).to_have_text("已办结", timeout=SYNC_MS)
    expect(page.locator("#outbox")).to_have_count(0)
    expect(page.locator("ol.timeline li[data-action=resolve] img")).to_be_visible()
    page.locator("#toast").click()  # "sent": read, and out of the picture
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "worker-incident")
    page.locator("ol.timeline").first.scroll_into_view_if_needed()
    shot(page, "worker-timeline")

    done = timeline(api, worker, incident)
    assert [s["action"] for s in done["steps"]] == ["dispatch", "accept", "arrive", "resolve"]
    resolve = done["steps"][-1]
    assert resolve["note"] == "稻草火已扑灭，现场无人员受伤"
    assert resolve["photo"].startswith("photo:sha256:")
    lon, lat = cell.centroid
    assert resolve["gps"]["lat"] == pytest.approx(lat) and resolve["gps"]["lon"] == pytest.approx(
        lon
    )
    photo = api.get(f"/v1/photos/{resolve['photo']}")
    assert photo.content == PHOTO.read_bytes()


def test_actions_taken_offline_wait_survive_a_reload_and_go_in_order(
    settings: Settings,
    api: httpx.Client,
    phone: BrowserContext,
    page: Page,
    enrol: Callable[..., Account],
    cells: list[Cell],
    shot: Callable[..., Path],
) -> None:
    cell = cells[1]
    lon, lat = cell.centroid
    phone.set_geolocation({"latitude": lat, "longitude": lon, "accuracy": 8})
    worker = enrol("worker", cell.id)
    sign_in(page, worker)
    fire(settings, cell)
    incident = arrived_incident(page)
    page.locator(".card").first.click()
    expect(page.locator("#map svg")).to_be_visible()
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    phone.set_offline(True)
    expect(page.locator("#net")).to_have_attribute("data-state", "offline")
    page.get_by_role("button", name="签收").click()
    expect(page.locator("[data-outbox=pending]")).to_have_count(1)
    page.get_by_role("button", name="到场").click()
    expect(page.locator("[data-outbox=pending]")).to_have_count(2)
    expect(page.locator(".badge[data-status]")).to_have_text("已到场 · 待发送")
    shot(page, "worker-offline")
    assert [s["action"] for s in timeline(api, worker, incident)["steps"]] == ["dispatch"]

    # Still without signal, the app comes back from the service worker with its outbox.
    page.reload()
    expect(page.locator("[data-outbox=pending]")).to_have_count(2)
    expect(page.locator("#map svg")).to_be_visible()

    phone.set_offline(False)
    expect(page.locator("#outbox")).to_have_count(0, timeout=SYNC_MS)
    expect(page.locator(".badge[data-status]")).to_have_text("已到场")
    done = timeline(api, worker, incident)
    assert done["status"] == "on_site"
    assert [s["action"] for s in done["steps"]] == ["dispatch", "accept", "arrive"]
    assert done["steps"][-1]["gps"]["lat"] == pytest.approx(lat)


def test_an_action_the_server_refuses_shows_its_message(
    settings: Settings,
    api: httpx.Client,
    phone: BrowserContext,
    page: Page,
    enrol: Callable[..., Account],
    cells: list[Cell],
    shot: Callable[..., Path],
) -> None:
    cell = cells[2]
    worker, operator = enrol("worker", cell.id), enrol("operator")
    sign_in(page, worker)
    fire(settings, cell)
    incident = arrived_incident(page)
    page.locator(".card").first.click()
    expect(page.get_by_role("button", name="签收")).to_be_visible()

    phone.set_offline(True)
    page.get_by_role("button", name="签收").click()
    expect(page.locator("[data-outbox=pending]")).to_have_count(1)
    desk = {"Authorization": f"Bearer {access_token(api, operator)}"}
    body = {"reason": "监控误报：田间焚烧已报备", "false_alarm": True}
    cancelled = api.post(f"/v1/incidents/{incident}/cancel", json=body, headers=desk)
    assert cancelled.status_code == 200, cancelled.text

    phone.set_offline(False)
    refused = page.locator("[data-outbox=refused]")
    expect(refused).to_have_count(1, timeout=SYNC_MS)
    again = api.post(
        f"/v1/incidents/{incident}/accept",
        headers={"Authorization": f"Bearer {access_token(api, worker)}"},
    )
    assert again.status_code == 409
    message = again.json()["detail"][0]["msg"]
    expect(refused.locator(".error")).to_contain_text(message)
    expect(page.locator("#toast")).to_contain_text(message)
    expect(page.locator(".badge[data-status]")).to_have_text("已取消")
    expect(page.locator(".clock[data-due]")).to_have_count(0)
    shot(page, "worker-refused")
    refused.get_by_role("button", name="知道了").click()
    expect(page.locator("#outbox")).to_have_count(0)


def test_the_english_switch_holds_across_a_reload(
    page: Page, enrol: Callable[..., Account], cells: list[Cell], shot: Callable[..., Path]
) -> None:
    worker = enrol("worker", cells[3].id)
    sign_in(page, worker)
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    expect(page.locator("#title")).to_have_text("Grid worker")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.reload()
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    expect(page.locator("#signout")).to_have_text("Sign out")
    shot(page, "worker-queue-en")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="我的任务")).to_be_visible()
