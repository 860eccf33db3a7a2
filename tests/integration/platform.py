"""The four processes of the distributed mode, started as an operator would, and probes of them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from gridwatch.accounts import User
from gridwatch.grid.model import Cell
from gridwatch.settings import Settings
from tests.conftest import (
    Proc,
    bearer,
    environ,
    free_port,
    isolated_env,
    mosquitto_pub,
    private_database,
    wait_until,
)
from tests.support import payload

PIPELINE_TIMEOUT = 90.0


def start_platform(
    settings: Settings, procs: Callable[..., Proc], env: Mapping[str, str] | None = None
) -> dict[str, Proc]:
    """alerts, bridge, streams and api (with `env` over the run's variables), once ready."""
    running = {name: procs(name, env) for name in ("alerts", "bridge", "streams", "api")}
    wait_for_api(settings, running.values())
    return running


def wait_for_api(settings: Settings, running: Iterable[Proc]) -> None:
    """Until the API answers /readyz; fails at once, with its log, if a process died."""
    api = httpx.Client(base_url=f"http://{settings.api.host}:{settings.api.port}")

    def ready() -> bool:
        for proc in running:
            assert proc.alive(), f"{proc.command} died:\n{proc.tail()}"
        try:
            return api.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False

    wait_until(ready, timeout=60, what="the API to be ready")


@contextmanager
def api_client(settings: Settings, user: User) -> Iterator[httpx.Client]:
    """A client of the running platform's API, signed in as `user`."""
    base = f"http://{settings.api.host}:{settings.api.port}"
    with httpx.Client(base_url=base, headers=bearer(settings, user)) as client:
        yield client


def device() -> str:
    """A device id no other test uses, so queues and dead letters can be told apart."""
    return f"cam-{uuid.uuid4().hex[:10]}"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def cell_events(api: httpx.Client, cell: Cell, dev: str) -> list[dict[str, Any]]:
    """Incidents of a cell whose evidence came from `dev`, with their evidence."""
    page = api.get("/v1/incidents", params={"cell": cell.id}).json()
    found = []
    for item in page["items"]:
        detail = api.get(f"/v1/incidents/{item['incident_id']}").json()
        if any(e["device_id"] == dev for e in detail["evidence"]):
            found.append(detail)
    return found


def publish(
    settings: Settings,
    dev: str,
    doc: dict[str, Any],
    source: str = "blue-sky",
    *,
    protocol: str = "mqttv5",
) -> None:
    """A device's QoS 1 publish with the real mosquitto_pub (MQTT 5, or `protocol`)."""
    mosquitto_pub(settings, f"gridwatch/v1/{source}/{dev}/events", payload(doc), protocol=protocol)


@dataclass(frozen=True)
class Mode:
    """A running platform: its mode's name, its settings and the MQTT protocol its broker speaks."""

    name: str
    settings: Settings
    protocol: str

    def publish(self, dev: str, doc: dict[str, Any], source: str = "blue-sky") -> None:
        """A device's QoS 1 publish with the real mosquitto_pub, as this mode's broker takes it."""
        publish(self.settings, dev, doc, source, protocol=self.protocol)


@contextmanager
def mode_platform(
    name: str, procs: Callable[..., Proc], run_dir: Path, env: Mapping[str, str] | None = None
) -> Iterator[Mode]:
    """One mode's platform, with a database, topics and ports of its own, `env` over them.

    "distributed": bridge, streams, alerts, dispatch and api around Kafka and Mosquitto;
    "embedded": `gridwatch run` with its in-process broker (MQTT 3.1.1 only);
    "embedded-mosquitto": `gridwatch run` bridging from Mosquitto. Of its own in the
    distributed mode too: a bridge session shared with an earlier platform would come back to
    every message the shared broker carried while it was away.
    """
    own_env = isolated_env(run_dir) | dict(env or {})
    if name == "embedded":
        own_env["GRIDWATCH_MQTT__PORT"] = str(free_port())
    if name == "embedded-mosquitto":
        own_env["GRIDWATCH_MQTT__IN_PROCESS"] = "false"
    with private_database(own_env):
        with environ(own_env):
            own = Settings()
        if name == "distributed":
            running = [*start_platform(own, procs, own_env).values(), procs("dispatch", own_env)]
        else:
            running = [procs("run", own_env)]
            wait_for_api(own, running)
        try:
            yield Mode(name, own, "mqttv311" if name == "embedded" else "mqttv5")
        finally:
            # Before the database goes.
            for proc in running:
                proc.stop()
