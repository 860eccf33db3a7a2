"""The grid worker's phone app against the running platform, in headless Chromium."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import psycopg
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Route, expect

from gridwatch.grid.model import Cell
from tests.browser.conftest import Account, access_token
from tests.conftest import wait_until
from tests.far_cells import FarCells
from tests.integration.platform import PIPELINE_TIMEOUT, Mode, device, now
from tests.support import event

pytestmark = pytest.mark.integration

PHOTO = Path(__file__).parent / "fixtures" / "after.jpg"
# Playwright counts in milliseconds; the pipeline's budget is the integration tests' own.
PIPELINE_MS = PIPELINE_TIMEOUT * 1000
SYNC_MS = 60_000
# The notifications the service worker shows, as [title, tag, incident]; null while none.
SHOWN_NOTIFICATIONS = """async () => {
    const shown = await (await navigator.serviceWorker.ready).getNotifications();
    return shown.length ? shown.map((n) => [n.title, n.tag, n.data.incident]) : null;
}"""
# One cell for each test.
CELLS = 9


@pytest.fixture(scope="module")
def cells(field_cell: Cell, far_cells: FarCells) -> list[Cell]:
    """`field_cell` and more cells of this module's own, one for each test."""
    return [field_cell, *far_cells.take(CELLS - 1)]


@pytest.fixture
def page(phone: BrowserContext) -> Iterator[Page]:
    """The app's page on the phone; the browser's console is shown when a test fails."""
    opened = phone.new_page()
    logs: list[str] = []
    opened.on("console", lambda m: logs.append(f"{m.type}: {m.text}"))
    opened.on("pageerror", lambda e: logs.append(f"error: {e}"))
    yield opened
    print("\n".join(logs))  # noqa: T201 — pytest shows it only for a failed test


@dataclass(frozen=True)
class Scene:
    """The platform, the phone with the app open, and what a test does with them."""

    mode: Mode
    api: httpx.Client
    phone: BrowserContext
    page: Page
    enrol: Callable[..., Account]
    shot: Callable[..., Path]

    def signed_in_worker(self, cell: Cell) -> Account:
        """The cell's worker, standing at its centre, signed in with the queue on screen."""
        lon, lat = cell.centroid
        self.phone.set_geolocation({"latitude": lat, "longitude": lon, "accuracy": 8})
        worker = self.enrol("worker", cell.id)
        self.page.goto("/app/")
        self.page.fill("#username", worker.username)
        self.page.fill("#password", worker.password)
        self.page.get_by_role("button", name="登录").click()
        expect(self.page.get_by_role("heading", name="我的任务")).to_be_visible()
        return worker

    def fire(self, cell: Cell) -> None:
        """A fire seen by a new camera at the cell's centre, published over MQTT."""
        lon, lat = cell.centroid
        dev = device()
        fire = event(device=dev, event_id=f"{dev}-1", at=now(), lon=lon, lat=lat)
        self.mode.publish(dev, fire)

    def fire_cards(self) -> Locator:
        """The queue's cards of fires sent to me ("本网格" marks one only in my cell)."""
        cards = self.page.locator(".card[data-incident]").filter(has_text="火情")
        return cards.filter(has_not_text="本网格")

    def arrived(self) -> str:
        """Wait until a fire is sent to me (not merely stored in my cell); its card's id."""
        card = self.fire_cards().first
        expect(card).to_be_visible(timeout=PIPELINE_MS)
        incident = card.get_attribute("data-incident")
        assert incident
        return incident

    def incident_open(self, cell: Cell) -> tuple[Account, str]:
        """The cell's worker signed in, a fire there pushed to them and opened on the phone."""
        worker = self.signed_in_worker(cell)
        self.fire(cell)
        incident = self.arrived()
        self.page.locator(f'.card[data-incident="{incident}"]').click()
        expect(self.page.locator("#map svg")).to_be_visible()
        return worker, incident

    def headers(self, account: Account) -> dict[str, str]:
        return {"Authorization": f"Bearer {access_token(self.api, account)}"}

    def timeline(self, account: Account, incident: str) -> dict[str, Any]:
        """The incident's timeline as the server has it."""
        answer = self.api.get(f"/v1/incidents/{incident}/timeline", headers=self.headers(account))
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def person(self, account: Account) -> dict[str, Any]:
        """The account's roster person with duty and last fix, as the server has them."""
        path = f"/v1/people/{account.person_id}"
        answer = self.api.get(path, headers=self.headers(account))
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


@pytest.fixture
def scene(
    mode: Mode,
    api: httpx.Client,
    phone: BrowserContext,
    page: Page,
    enrol: Callable[..., Account],
    shot: Callable[..., Path],
) -> Scene:
    return Scene(mode, api, phone, page, enrol, shot)


def test_a_pushed_fire_is_accepted_and_resolved_with_photo_and_fix(
    scene: Scene, cells: list[Cell]
) -> None:
    cell, page, shot = cells[0], scene.page, scene.shot
    page.goto("/app/")
    shot(page, "worker-signin")
    worker = scene.signed_in_worker(cell)
    expect(page.locator("#net")).to_have_attribute("data-state", "online")
    scene.fire(cell)

    # The push reaches the open app: its alert says so, and the queue shows the incident.
    expect(page.locator("#toast")).to_contain_text("新任务", timeout=PIPELINE_MS)
    shot(page, "worker-pushed")
    incident = scene.arrived()
    card = page.locator(f'.card[data-incident="{incident}"]')
    expect(card.locator(".badge[data-status]")).to_have_text("待签收")
    expect(card.locator(".clock[data-due]")).to_contain_text("剩余")
    shot(page, "worker-queue")

    card.click()
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
    page.locator("#toast").click()  # the arrival's "sent": read, and out of the picture
    page.locator("form.step").scroll_into_view_if_needed()
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

    done = scene.timeline(worker, incident)
    assert [s["action"] for s in done["steps"]] == ["dispatch", "accept", "arrive", "resolve"]
    resolve = done["steps"][-1]
    assert resolve["note"] == "稻草火已扑灭，现场无人员受伤"
    lon, lat = cell.centroid
    assert (resolve["gps"]["lat"], resolve["gps"]["lon"]) == (
        pytest.approx(lat),
        pytest.approx(lon),
    )
    photo = resolve["photo"]
    assert photo.startswith("photo:sha256:")
    shown_and_kept(scene, worker, photo)
    answer = scene.api.get(f"/v1/photos/{photo}", headers=scene.headers(worker))
    assert answer.content == PHOTO.read_bytes()


# The photos the service worker keeps, as [the address kept under, the kept answer's URL].
KEPT_PHOTOS = """async () => {
    const cache = await caches.open("gw-app-keep");
    const photos = (await cache.keys())
        .filter((r) => new URL(r.url).pathname.startsWith("/v1/photos/"));
    return Promise.all(photos.map(async (r) => [r.url, (await cache.match(r)).url]));
}"""


# Whether the resolve's photo has loaded (drawn anew as answers come, so looked up each time;
# scrolled to, as a lazy image loads only in view).
RESOLVE_PHOTO_LOADED = """() => {
    const img = document.querySelector("ol.timeline li[data-action=resolve] img");
    img?.scrollIntoView();
    return Boolean(img?.complete && img.naturalWidth > 0);
}"""


def shown_and_kept(scene: Scene, worker: Account, photo: str) -> None:
    """The resolve's photo loads through the service worker, is kept without the token in its
    address, the reads are the worker's in the audit log, and signing out forgets it."""
    page = scene.page
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.reload()  # the photo asked through the service worker, which may have come after it
    page.wait_for_function(RESOLVE_PHOTO_LOADED)
    path = f"/v1/photos/{quote(photo)}"
    kept = wait_until(
        lambda: page.evaluate(KEPT_PHOTOS), timeout=SYNC_MS / 1000, what="the kept photo"
    )
    assert [urlsplit(url).path for url, _answer in kept] == [path]
    assert all("token" not in address for pair in kept for address in pair), kept
    with psycopg.connect(scene.mode.settings.postgres.conninfo()) as conn:
        readers = conn.execute(
            "SELECT DISTINCT actor FROM audit_log WHERE action = 'photo.read' AND target = %s",
            (photo,),
        ).fetchall()
    assert readers == [(worker.user.id,)]

    page.get_by_role("button", name="退出").click()
    expect(page.locator("#username")).to_be_visible()
    assert page.evaluate(KEPT_PHOTOS) == []


def test_actions_taken_offline_wait_survive_a_reload_and_go_in_order(
    scene: Scene, cells: list[Cell]
) -> None:
    page, phone = scene.page, scene.phone
    worker, incident = scene.incident_open(cells[1])
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    phone.set_offline(True)
    expect(page.locator("#net")).to_have_attribute("data-state", "offline")
    page.get_by_role("button", name="签收").click()
    expect(page.locator("[data-outbox=pending]")).to_have_count(1)
    page.get_by_role("button", name="到场").click()
    expect(page.locator("[data-outbox=pending]")).to_have_count(2)
    expect(page.locator(".badge[data-status]")).to_have_text("已到场 · 待发送")
    scene.shot(page, "worker-offline")
    assert [s["action"] for s in scene.timeline(worker, incident)["steps"]] == ["dispatch"]

    # Still without signal, the app comes back from the service worker with its outbox.
    page.reload()
    expect(page.locator("[data-outbox=pending]")).to_have_count(2)
    expect(page.locator("#map svg")).to_be_visible()

    phone.set_offline(False)
    expect(page.locator("#outbox")).to_have_count(0, timeout=SYNC_MS)
    expect(page.locator(".badge[data-status]")).to_have_text("已到场")
    done = scene.timeline(worker, incident)
    assert done["status"] == "on_site"
    assert [s["action"] for s in done["steps"]] == ["dispatch", "accept", "arrive"]
    assert done["steps"][-1]["gps"]["lat"] == pytest.approx(cells[1].centroid[1])


def test_an_action_the_server_refuses_shows_its_message(scene: Scene, cells: list[Cell]) -> None:
    page, api = scene.page, scene.api
    worker, incident = scene.incident_open(cells[2])
    operator = scene.enrol("operator")

    scene.phone.set_offline(True)
    page.get_by_role("button", name="签收").click()
    expect(page.locator("[data-outbox=pending]")).to_have_count(1)
    body = {"reason": "监控误报：田间焚烧已报备", "false_alarm": True}
    path = f"/v1/incidents/{incident}"
    cancelled = api.post(f"{path}/cancel", json=body, headers=scene.headers(operator))
    assert cancelled.status_code == 200, cancelled.text

    scene.phone.set_offline(False)
    refused = page.locator("[data-outbox=refused]")
    expect(refused).to_have_count(1, timeout=SYNC_MS)
    again = api.post(f"{path}/accept", headers=scene.headers(worker))
    assert again.status_code == 409
    message = again.json()["detail"][0]["msg"]
    expect(refused.locator(".error")).to_contain_text(message)
    expect(page.locator("#toast")).to_contain_text(message)
    expect(page.locator(".badge[data-status]")).to_have_text("已取消")
    expect(page.locator(".clock[data-due]")).to_have_count(0)
    scene.shot(page, "worker-refused")
    refused.get_by_role("button", name="知道了").click()
    expect(page.locator("#outbox")).to_have_count(0)


def test_the_english_switch_holds_across_a_reload(scene: Scene, cells: list[Cell]) -> None:
    page = scene.page
    scene.signed_in_worker(cells[3])
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    expect(page.locator("#title")).to_have_text("Grid worker")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.reload()
    expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    expect(page.locator("#signout")).to_have_text("Sign out")
    scene.shot(page, "worker-queue-en")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="我的任务")).to_be_visible()


def test_a_reconnecting_phone_catches_up_without_repeats(scene: Scene, cells: list[Cell]) -> None:
    page, phone = scene.page, scene.phone
    worker = scene.signed_in_worker(cells[4])
    page.evaluate(
        "window.pushes = [];"
        " addEventListener('gw:notification', (e) => pushes.push(e.detail.notification_id))"
    )
    acks: list[str] = []

    def lost(route: Route) -> None:
        """The acknowledgement never reaches the server, so the store sends it again."""
        acks.append(route.request.url)
        route.abort()

    page.route("**/v1/me/notifications/*/ack", lost)
    scene.fire(cells[4])
    page.wait_for_function("pushes.length === 1", timeout=PIPELINE_MS)
    since = f"localStorage.getItem('gw.since.{worker.user.id}')"

    phone.set_offline(True)
    expect(page.locator("#net")).to_have_attribute("data-state", "offline")
    # A live push carries its seq only when the queue writer stored it first, which is a race:
    # the phone's cursor is dropped, as when it came without one, so the socket asks for all.
    page.evaluate(f"localStorage.removeItem('gw.since.{worker.user.id}')")
    assert page.evaluate(since) is None
    phone.set_offline(False)
    # Back online, the socket asks for what came since: the same unacknowledged notification.
    page.wait_for_function(f"Number({since}) > 0", timeout=SYNC_MS)
    # Acknowledged again at the repeat, just after its seq is kept (page.evaluate lets
    # Playwright hand over the routed request meanwhile); shown once.
    wait_until(
        lambda: page.evaluate("1") and len(acks) == 2,
        timeout=SYNC_MS / 1000,
        what="the repeat's acknowledgement",
    )
    assert page.evaluate("pushes.length") == 1
    expect(scene.fire_cards()).to_have_count(1)


def test_duty_and_location_sharing(scene: Scene, cells: list[Cell]) -> None:
    page = scene.page
    worker = scene.signed_in_worker(cells[5])
    duty = page.locator("#duty")
    expect(duty).to_have_attribute("aria-pressed", "true")  # on the roster all day
    lon, lat = cells[5].centroid

    def fix() -> dict[str, Any] | None:
        last: dict[str, Any] | None = scene.person(worker)["last_fix"]
        return last

    shared = wait_until(fix, timeout=SYNC_MS / 1000, what="the phone's first fix")
    assert (shared["lat"], shared["lon"]) == (pytest.approx(lat), pytest.approx(lon))

    duty.click()
    expect(duty).to_have_attribute("aria-pressed", "false")
    expect(duty).to_have_text("离岗")
    assert scene.person(worker)["duty"]["on_duty"] is False
    duty.click()
    expect(duty).to_have_attribute("aria-pressed", "true")
    assert scene.person(worker)["duty"]["on_duty"] is True


def test_call_for_help_then_hand_back_with_a_reason(scene: Scene, cells: list[Cell]) -> None:
    page = scene.page
    worker, incident = scene.incident_open(cells[6])
    page.get_by_role("button", name="签收").click()
    expect(page.locator(".badge[data-status]")).to_have_text("已签收")

    page.get_by_role("button", name="请求支援").click()
    page.fill("#f-note", "火势扩大，需要消防车")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("ol.timeline li[data-action=request_help]")).to_be_visible()

    page.get_by_role("button", name="退回").click()
    page.get_by_role("button", name="提交").click()  # no reason: the form says so, nothing sent
    expect(page.locator("form.step[data-form=hand-back]")).to_be_visible()
    page.fill("#f-reason", "不在本人网格范围，另有人负责")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("ol.timeline li[data-action=hand_back]")).to_be_visible(timeout=SYNC_MS)

    steps = scene.timeline(worker, incident)["steps"]
    assert [s["action"] for s in steps[:4]] == ["dispatch", "accept", "request_help", "hand_back"]
    assert steps[2]["note"] == "火势扩大，需要消防车"
    assert steps[3]["reason"] == "不在本人网格范围，另有人负责"


def test_the_service_worker_shows_a_web_push(scene: Scene, cells: list[Cell]) -> None:
    page, phone = scene.page, scene.phone
    scene.signed_in_worker(cells[7])
    phone.grant_permissions(["geolocation", "notifications"])
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    cdp = phone.new_cdp_session(page)
    registrations: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(
            r["registrationId"] for r in e["registrations"] if not r["isDeleted"]
        ),
    )
    cdp.send("ServiceWorker.enable")
    # Playwright hands over CDP events while it talks to the page: ask it something meanwhile.
    wait_until(
        lambda: page.evaluate("1") and registrations, timeout=30, what="the app's registration"
    )
    note = {
        "notification_id": "n-push-test",
        "incident_id": "inc-push-test",
        "kind": "assigned",
        "severity": 4,
        "title": "assigned: fire in cell",
        "body": "on-duty worker of the cell",
    }
    origin = f"http://{scene.mode.settings.api.host}:{scene.mode.settings.api.port}"
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": registrations[0], "data": json.dumps(note)},
    )
    shown = wait_until(
        lambda: page.evaluate(SHOWN_NOTIFICATIONS), timeout=SYNC_MS / 1000, what="the notification"
    )
    assert shown == [["assigned: fire in cell", "inc-push-test", "inc-push-test"]]


def test_the_session_rotates_its_tokens_and_sign_out_revokes_them(
    scene: Scene, cells: list[Cell]
) -> None:
    page, api = scene.page, scene.api
    worker = scene.signed_in_worker(cells[3])
    stored = "JSON.parse(localStorage.getItem('gw.session'))"
    first = page.evaluate(f"{stored}.refresh")
    # The access token runs out: the next request rotates the pair first.
    page.evaluate(
        f"localStorage.setItem('gw.session', JSON.stringify({{...{stored}, expiresAt: 0}}))"
    )
    page.reload()
    expect(page.get_by_role("heading", name="我的任务")).to_be_visible()
    page.wait_for_function(f"{stored}.expiresAt > Date.now()")
    second = page.evaluate(f"{stored}.refresh")
    assert second != first

    page.get_by_role("button", name="退出").click()
    expect(page.locator("#username")).to_be_visible()
    assert page.evaluate(stored) is None
    # Signed out on the server too: the pair the app held is no longer good for anything.
    refused = api.post("/v1/auth/refresh", json={"refresh_token": second})
    assert refused.status_code == 401, refused.text

    page.fill("#username", worker.username)
    page.fill("#password", "not the password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("wrong username or password")


def test_a_step_whose_answer_was_lost_is_not_called_refused(
    scene: Scene, cells: list[Cell]
) -> None:
    page = scene.page
    worker, incident = scene.incident_open(cells[8])
    lost: list[int] = []

    def answer_lost(route: Route) -> None:
        """The server takes the step; its answer never reaches the phone."""
        lost.append(route.fetch().status)
        route.abort()
        page.unroute("**/accept", answer_lost)

    page.route("**/accept", answer_lost)
    page.get_by_role("button", name="签收").click()
    # Sent again, the accept is refused (409: already accepted); the timeline shows it landed.
    expect(page.locator("#outbox")).to_have_count(0, timeout=SYNC_MS)
    expect(page.locator(".badge[data-status]")).to_have_text("已签收")
    assert lost == [200]
    steps = scene.timeline(worker, incident)["steps"]
    assert [s["action"] for s in steps] == ["dispatch", "accept"]


# Fills the photo cache past its limit, then fetches the map through the service worker: a
# miss it keeps, after which the photos are trimmed. The photo paths it keeps, once trimmed.
FILL_PHOTOS_THEN_FETCH = """async ([count, limit]) => {
    const cache = await caches.open("gw-app-keep");
    for (let i = 0; i < count; i++) {
        const ref = `photo:sha256:${String(i).padStart(64, "0")}`;
        await cache.put(`/v1/photos/${ref}`, new Response("x"));
    }
    await cache.delete("/v1/cells/map");
    await fetch("/v1/cells/map");
    for (let wait = 0; wait < 100; wait++) {
        const kept = (await cache.keys()).map((r) => new URL(r.url).pathname)
            .filter((p) => p.startsWith("/v1/photos/"));
        if (kept.length <= limit) return kept;
        await new Promise((r) => setTimeout(r, 100));
    }
    return null;
}"""


def test_the_phone_keeps_only_the_newest_photos(scene: Scene) -> None:
    page = scene.page
    page.goto("/app/")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    kept = page.evaluate(FILL_PHOTOS_THEN_FETCH, [70, 60])
    assert kept is not None, "the photo cache was never trimmed"
    # The ten put first are gone; the newest sixty stay.
    assert [int(p.rsplit(":", 1)[1]) for p in kept] == list(range(10, 70))


def test_the_next_account_sees_nothing_kept_for_the_last(scene: Scene, cells: list[Cell]) -> None:
    page = scene.page
    scene.signed_in_worker(cells[0])
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    # What the last account left on the phone: a photo kept by the service worker.
    photo = "/v1/photos/photo:sha256:" + "1" * 64
    page.evaluate(
        "async (p) => (await caches.open('gw-app-keep')).put(p, new Response('x'))", photo
    )
    # Its refresh was refused, so nobody signed out; the phone goes to someone else.
    page.evaluate("localStorage.removeItem('gw.session')")
    page.reload()
    scene.signed_in_worker(cells[1])
    kept = "async (p) => Boolean(await (await caches.open('gw-app-keep')).match(p))"
    assert page.evaluate(kept, photo) is False
