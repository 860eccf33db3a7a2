"""Browser fixtures: the running platform in both modes, roster accounts, Chromium, phone, desk.

Every module that asks for the platform runs twice, once per mode, each platform started
for it with a run folder, database, topic prefix, MQTT session and API port of its own
(tests/conftest.py `isolated_env`): the distributed mode is alerts, bridge, streams and api
(tests/integration/platform.py `start_platform`) plus `gridwatch dispatch` on the shared
Mosquitto and Kafka; the embedded mode is one `gridwatch run` with an MQTT port of its own
(its in-process broker speaks MQTT 3.1.1 only). Publish device events with `mode.publish`
(the real mosquitto_pub, in the mode's protocol) and poll with `tests.conftest.wait_until`;
in pages use Playwright's `expect(...)` with a generous timeout, never a sleep.

Fixtures:

- `mode`: the platform of one mode running (module scope, params "distributed" and
  "embedded"): `Mode` with its name, `settings` (use these, not the session's `settings`)
  and `publish`; `base_url` is its API's address, where `/app/`, `/console/` and `/public/`
  are served.
- `api`: an httpx client of the API, for setting scenes up and checking the server's state.
- `field_cell`: the grid cell this module works in (module scope; each module, and each
  mode of it, picks a different one, so they do not see each other's incidents).
- `enrol(role, node=None)`: a new account with a roster person on duty around the clock
  (`Account`: user, password, person id); a worker belongs to `field_cell`, a supervisor to
  its village, an operator to the county, unless `node` says otherwise. A worker enrolled so
  is whom the dispatcher sends the cell's incidents to.
- `browser`: headless Debian Chromium (`/usr/bin/chromium`, installed by deploy/browser;
  Playwright's own browsers are never downloaded), module scope.
- `phone`: a fresh 360×640 touch context, zh-CN, Asia/Shanghai, geolocation granted and fixed
  at `field_cell`'s centroid, `base_url` set (`page.goto("/app/")`).
- `desk`: a fresh 1920×1080 context, zh-CN, Asia/Shanghai, `base_url` set, for the console.
- `shot(page, name, full_page=False)`: saves a screenshot to docs/screenshots/<name>.png in
  the embedded mode (the README's way to run it), to the test's temporary folder otherwise.

`access_token(api, account)` signs in through `POST /v1/auth/token` and answers the token.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright

from gridwatch.accounts import User
from gridwatch.grid.model import Cell, Grid
from gridwatch.people import Level, Person, Role, Roster, RosterDocument
from gridwatch.store.migrate import migrate
from gridwatch.store.people import import_roster
from tests.conftest import (
    REPO,
    Proc,
    add_user,
)
from tests.far_cells import FarCells
from tests.integration.platform import Mode, mode_platform
from tests.integration.staff import always_on_duty

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = REPO / "docs" / "screenshots"
PHONE = ViewportSize(width=360, height=640)
DESK = ViewportSize(width=1920, height=1080)
# Every test sends incidents to the same worker: no load cap may pass them over.
UNCAPPED = {"GRIDWATCH_ASSIGNMENT__MAX_LOAD": "100000"}


def level_of(grid: Grid, node: str) -> Level:
    """The level of a node of the grid → village → township → county hierarchy."""
    if node == grid.county:
        return "county"
    if grid.get(node) is not None:
        return "grid"
    if any(c.village_id == node for c in grid.cells):
        return "village"
    if any(c.township_id == node for c in grid.cells):
        return "township"
    raise ValueError(f"{node!r} is no node of the grid")


@dataclass(frozen=True)
class Account:
    """A signed-up account with its password and the roster person it is."""

    user: User
    password: str
    person_id: str

    @property
    def username(self) -> str:
        return self.user.username


@pytest.fixture(scope="module", params=["distributed", "embedded"])
def mode(
    request: pytest.FixtureRequest,
    procs: Callable[..., Proc],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Mode]:
    """The platform of one mode, with a database, topics and ports of its own, for this module."""
    with mode_platform(
        request.param, procs, tmp_path_factory.mktemp(request.param), UNCAPPED
    ) as running:
        yield running


@pytest.fixture(scope="module")
def base_url(mode: Mode) -> str:
    """Where the API under test answers."""
    return f"http://{mode.settings.api.host}:{mode.settings.api.port}"


@pytest.fixture
def api(base_url: str) -> Iterator[httpx.Client]:
    """An HTTP client of the API under test."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


def access_token(api: httpx.Client, account: Account) -> str:
    """Sign in as `account` (the OAuth2 password flow) and answer its access token."""
    answer = api.post(
        "/v1/auth/token", data={"username": account.username, "password": account.password}
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


@pytest.fixture(scope="module")
def field_cell(mode: Mode, far_cells: FarCells) -> Cell:
    """A cell of this module's own in this mode, far from every other test's incidents."""
    return far_cells.one()


@pytest.fixture(scope="module")
def enrol(mode: Mode, grid: Grid, field_cell: Cell) -> Callable[..., Account]:
    """Make accounts of roster people on duty all day (see the module docstring)."""
    settings = mode.settings
    default_node: dict[Role, str] = {
        "worker": field_cell.id,
        "mediator": field_cell.village_id,
        "supervisor": field_cell.village_id,
        "operator": grid.county,
        "admin": grid.county,
    }

    def enrolled(role: Role, node: str | None) -> Account:
        where = node or default_node[role]
        person_id = f"P-{uuid.uuid4().hex[:10]}"
        person = Person(
            id=person_id,
            name=f"{role} {person_id}",
            role=role,
            level=level_of(grid, where),
            node=where,
        )
        shift = always_on_duty(person_id)
        doc = RosterDocument(county=grid.county, people=(person,), roster=Roster(shifts=(shift,)))

        async def load() -> None:
            async with await psycopg.AsyncConnection.connect(settings.postgres.conninfo()) as conn:
                await import_roster(conn, doc, replace=False)

        with psycopg.connect(settings.postgres.conninfo(), autocommit=True) as conn:
            migrate(conn)
        asyncio.run(load())
        password = f"{role} passphrase for the browser"
        user = add_user(settings, role, where, password=password, person_id=person_id)
        return Account(user=user, password=password, person_id=person_id)

    def make(role: Role, node: str | None = None) -> Account:
        # In a thread of its own: asyncio.run refuses to run inside Playwright's event loop.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(enrolled, role, node).result()

    return make


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright, closed with the module.

    Not for the session: Playwright's sync API keeps an event loop running in this thread
    while it is open, and the tests after the browser ones call asyncio.run.
    """
    with sync_playwright() as pw:
        # --no-sandbox: the tests run as root here and in CI, where Chromium's sandbox refuses.
        launched = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def phone(browser: Browser, base_url: str, field_cell: Cell) -> Iterator[BrowserContext]:
    """A grid worker's phone standing in `field_cell`."""
    lon, lat = field_cell.centroid
    context = browser.new_context(
        base_url=base_url,
        viewport=PHONE,
        screen=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        geolocation={"latitude": lat, "longitude": lon, "accuracy": 8},
        permissions=["geolocation"],
    )
    yield context
    context.close()


@pytest.fixture
def desk(browser: Browser, base_url: str) -> Iterator[BrowserContext]:
    """The monitoring center's wide screen."""
    context = browser.new_context(
        base_url=base_url,
        viewport=DESK,
        screen=DESK,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    yield context
    context.close()


@pytest.fixture
def shot(mode: Mode, tmp_path: Path) -> Callable[..., Path]:
    """Save a page's screenshot as <name>.png (`full_page=True`: all of it); see the docstring."""
    # Once for the docs, from the mode the README runs; the other mode's are still taken.
    folder = SCREENSHOTS if mode.name == "embedded" else tmp_path

    def save(page: Page, name: str, *, full_page: bool = False) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return save
