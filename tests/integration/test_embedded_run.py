"""`gridwatch run`: one process, a real MQTT client, incidents in the store, a SIGKILL survived."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from gridwatch.grid.model import Grid
from gridwatch.settings import Settings
from tests.conftest import (
    Proc,
    environ,
    free_port,
    isolated_env,
    private_database,
    wait_until,
)
from tests.integration import platform
from tests.integration.platform import PIPELINE_TIMEOUT, device, now, wait_for_api
from tests.support import event

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def embedded_env(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """A run folder, database, API port and MQTT port of its own: no Kafka, no Mosquitto."""
    env = isolated_env(tmp_path_factory.mktemp("embedded")) | {
        "GRIDWATCH_MQTT__PORT": str(free_port())
    }
    with private_database(env):
        yield env


@pytest.fixture(scope="module")
def embedded(embedded_env: dict[str, str]) -> Settings:
    with environ(embedded_env):
        return Settings()


def start(embedded: Settings, embedded_env: dict[str, str], procs: Callable[..., Proc]) -> Proc:
    """`gridwatch run`, once its API answers."""
    proc = procs("run", embedded_env)
    wait_for_api(embedded, [proc])
    return proc


def publish(embedded: Settings, dev: str, doc: dict[str, Any]) -> None:
    """A camera's QoS 1 publish over MQTT 3.1.1, the protocol of the in-process broker."""
    platform.publish(embedded, dev, doc, protocol="mqttv311")


def incidents_of(embedded: Settings, dev: str) -> list[tuple[str, str]]:
    with psycopg.connect(embedded.postgres.conninfo()) as conn:
        return conn.execute(
            "SELECT DISTINCT i.incident_id, i.category FROM incidents i"
            " JOIN incident_evidence e USING (incident_id) WHERE e.device_id = %s",
            (dev,),
        ).fetchall()


def test_one_process_turns_an_mqtt_fire_into_an_incident_and_survives_a_sigkill(
    embedded: Settings,
    embedded_env: dict[str, str],
    procs: Callable[..., Proc],
    grid: Grid,
) -> None:
    lon, lat = grid.cells[len(grid) // 7].centroid
    running = start(embedded, embedded_env, procs)
    first = device()
    publish(embedded, first, event(device=first, event_id=f"{first}-1", at=now(), lon=lon, lat=lat))
    [(incident, category)] = wait_until(
        lambda: incidents_of(embedded, first), timeout=PIPELINE_TIMEOUT, what="the incident"
    )
    assert category == "fire"
    # It says what is going on, every ten seconds.
    wait_until(
        lambda: (
            "devices online 1 · events/s" in running.log_path.read_text("utf-8")
            and "incidents open 1" in running.log_path.read_text("utf-8")
        ),
        timeout=30,
        what="the status line",
    )

    running.kill()
    restarted = start(embedded, embedded_env, procs)
    second = device()
    publish(
        embedded, second, event(device=second, event_id=f"{second}-1", at=now(), lon=lon, lat=lat)
    )
    wait_until(
        lambda: incidents_of(embedded, second), timeout=PIPELINE_TIMEOUT, what="a second incident"
    )
    assert incidents_of(embedded, first) == [(incident, "fire")]  # not made again on replay
    assert restarted.alive()


def test_a_broker_that_cannot_listen_stops_the_process_with_the_reason(
    embedded_env: dict[str, str], procs: Callable[..., Proc]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = embedded_env | {
            "GRIDWATCH_MQTT__PORT": str(taken.getsockname()[1]),
            "GRIDWATCH_API__PORT": str(free_port()),
        }
        running = procs("run", env)
        assert running.popen is not None
        assert running.popen.wait(timeout=PIPELINE_TIMEOUT) == 1
    assert "stopped because a part failed: mqtt:" in running.tail()
