"""MQTT → bridge → Kafka → faust → incident queue → API, with the real mosquitto_pub."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest

from gridwatch.accounts import User
from gridwatch.grid.model import Grid
from gridwatch.records import DeadLetter
from gridwatch.settings import Settings
from tests.conftest import (
    Proc,
    mosquitto_pub,
    mosquitto_pub_command,
    read_topic,
    wait_until,
)
from tests.far_cells import FarCells
from tests.integration.platform import (
    PIPELINE_TIMEOUT,
    api_client,
    cell_events,
    device,
    now,
    publish,
    start_platform,
)
from tests.support import event, payload

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def platform(settings: Settings, procs: Callable[[str], Proc]) -> dict[str, Proc]:
    """The four processes of the distributed mode, started as an operator would."""
    return start_platform(settings, procs)


@pytest.fixture
def api(settings: Settings, platform: dict[str, Proc], operator: User) -> Iterator[httpx.Client]:
    with api_client(settings, operator) as client:
        yield client


def test_fire_event_becomes_one_incident_in_its_cell(
    settings: Settings, api: httpx.Client, far_cells: FarCells
) -> None:
    cell = far_cells.one()
    lon, lat = cell.centroid
    assert api.get("/v1/cells", params={"lat": lat, "lon": lon}).json()["cell_id"] == cell.id
    dev = device()
    publish(settings, dev, event(device=dev, event_id=f"{dev}-1", at=now(), lon=lon, lat=lat))

    found = wait_until(
        lambda: cell_events(api, cell, dev),
        timeout=PIPELINE_TIMEOUT,
        what="the fire incident in its cell's queue",
    )
    assert len(found) == 1
    incident = found[0]
    assert (incident["cell_id"], incident["category"], incident["status"]) == (
        cell.id,
        "fire",
        "new",
    )
    assert incident["severity"] == 4
    assert [e["event_id"] for e in incident["evidence"]] == [f"{dev}-1"]


def test_an_event_published_three_times_gives_one_incident(
    settings: Settings, api: httpx.Client, far_cells: FarCells
) -> None:
    cell = far_cells.one()
    lon, lat = cell.centroid
    dev, witness = device(), device()
    at = now()
    original = event(device=dev, event_id=f"{dev}-1", at=at, lon=lon, lat=lat)
    for _ in range(3):
        publish(settings, dev, original)
    # A later fire from another camera in the same cell joins the same incident. It travels the
    # same partitions behind the copies, so once it is in, every copy has been processed.
    publish(
        settings,
        witness,
        event(
            device=witness, event_id=f"{witness}-1", at=at + timedelta(seconds=30), lon=lon, lat=lat
        ),
    )

    def witnessed() -> list[dict[str, Any]]:
        return [
            i
            for i in cell_events(api, cell, dev)
            if any(e["device_id"] == witness for e in i["evidence"])
        ]

    found = wait_until(witnessed, timeout=PIPELINE_TIMEOUT, what="the witness evidence")
    assert len(cell_events(api, cell, dev)) == 1
    assert found[0]["evidence_count"] == 2
    assert sorted(e["device_id"] for e in found[0]["evidence"]) == sorted([dev, witness])


def read_dead_letters(settings: Settings, devices: set[str], want: int) -> list[DeadLetter]:
    letters = [
        DeadLetter.model_validate_json(r.value)
        for r in read_topic(
            settings, "deadletter", lambda r: any(d.encode() in r.key for d in devices), count=want
        )
    ]
    return [x for x in letters if any(d in x.topic for d in devices)]


def test_bad_messages_are_dead_lettered_with_a_specific_reason(
    settings: Settings, api: httpx.Client, far_cells: FarCells, platform: dict[str, Proc]
) -> None:
    devs = {name: device() for name in ("json", "id", "type", "outside")}
    missing_id = event(device=devs["id"], at=now())
    del missing_id["id"]
    bad = {
        "json": b'{"specversion": "1.0", "id": ',
        "id": payload(missing_id),
        "type": payload(event("blue-sky.rain", device=devs["type"], at=now())),
        "outside": payload(event(device=devs["outside"], at=now(), lon=116.39, lat=39.91)),
    }
    for name, body in bad.items():
        mosquitto_pub(settings, f"gridwatch/v1/blue-sky/{devs[name]}/events", body)

    letters = read_dead_letters(settings, set(devs.values()), want=4)
    by_device = {d: next(x for x in letters if d in x.topic) for d in devs.values()}
    assert by_device[devs["json"]].code == "not_json"
    assert by_device[devs["id"]].code == "missing_field"
    assert "id" in by_device[devs["id"]].reason
    assert by_device[devs["type"]].code == "unknown_type"
    assert "blue-sky.rain" in by_device[devs["type"]].reason
    assert by_device[devs["outside"]].code == "outside_grid"
    assert by_device[devs["json"]].payload == bad["json"]

    # The bridge is still running and still moves good events.
    assert platform["bridge"].alive()
    cell = far_cells.one()
    dev = device()
    publish(
        settings,
        dev,
        event(
            device=dev, event_id=f"{dev}-1", at=now(), lon=cell.centroid[0], lat=cell.centroid[1]
        ),
    )
    wait_until(
        lambda: cell_events(api, cell, dev),
        timeout=PIPELINE_TIMEOUT,
        what="a good event after the bad ones",
    )


def stored_events(settings: Settings, dev: str) -> int:
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        row = conn.execute("SELECT count(*) FROM events WHERE device_id = %s", (dev,)).fetchone()
    return int(row[0]) if row else 0


def test_sigkill_of_the_bridge_loses_no_accepted_event(
    settings: Settings, grid: Grid, platform: dict[str, Proc]
) -> None:
    total = 3000
    dev = device()
    lon, lat = grid.cells[-1].centroid
    at = now()
    lines = [
        json.dumps(
            event(
                "sharp-eyes.motion",
                device=dev,
                event_id=f"{dev}-{i}",
                at=at + timedelta(milliseconds=i),
                lon=lon,
                lat=lat,
            )
        ).encode()
        + b"\n"
        for i in range(total)
    ]
    publisher = subprocess.Popen(
        mosquitto_pub_command(settings, f"gridwatch/v1/sharp-eyes/{dev}/events", "-l"),
        stdin=subprocess.PIPE,
    )
    assert publisher.stdin is not None
    # Feed slowly enough that the kill lands mid-stream.
    chunk = total // 30
    for start in range(0, total, chunk):
        publisher.stdin.write(b"".join(lines[start : start + chunk]))
        publisher.stdin.flush()
        time.sleep(0.05)
        if start == chunk * 10:
            wait_until(
                lambda: stored_events(settings, dev) > 0,
                timeout=PIPELINE_TIMEOUT,
                what="the first events to be stored",
            )
            platform["bridge"].kill()
        if start == chunk * 20:
            platform["bridge"].start()
    publisher.stdin.close()
    assert publisher.wait(timeout=60) == 0, "mosquitto_pub did not get every PUBACK"

    wait_until(
        lambda: stored_events(settings, dev) == total,
        timeout=PIPELINE_TIMEOUT,
        what=f"all {total} events stored after the SIGKILL",
    )
