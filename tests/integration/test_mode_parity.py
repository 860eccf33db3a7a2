"""One scenario, every mode: the same events give the same incidents, assignments, escalations.

The distributed mode (Mosquitto, bridge, Kafka, faust, queue writer, dispatcher, API as
processes), the embedded one (`gridwatch run`) and the embedded one bridging from Mosquitto
each get a platform of their own: run folder, database, topics and ports. The scenario
publishes over real MQTT and reads the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from gridwatch.accounts import User
from gridwatch.grid.model import Cell, Grid
from gridwatch.settings import Settings
from tests.conftest import Proc, wait_until
from tests.integration.platform import PIPELINE_TIMEOUT, Mode, device, mode_platform, now
from tests.integration.staff import staff_on_duty
from tests.support import event

pytestmark = pytest.mark.integration

# A fall must be accepted within a minute: nobody accepts it, so it escalates during the test.
FALL_CLOCK = json.dumps({"fall": {"high": {"accept_min": 1, "arrive_min": 30, "resolve_min": 240}}})


@pytest.fixture(scope="module", params=["distributed", "embedded", "embedded-mosquitto"])
def mode(
    request: pytest.FixtureRequest,
    procs: Callable[..., Proc],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Mode]:
    """The platform of one mode (see `mode_platform`), with a database and topics of its own."""
    run_dir = tmp_path_factory.mktemp(request.param)
    sla = {"GRIDWATCH_SLA__CATEGORIES": FALL_CLOCK}
    with mode_platform(request.param, procs, run_dir, sla) as running:
        yield running


def outcome(settings: Settings, devices: list[str]) -> list[tuple[Any, ...]]:
    """Per device: the incident's category, severity, status and assignees, as stored."""
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        return conn.execute(
            "SELECT e.device_id, i.category, i.severity, i.status,"
            " ARRAY(SELECT a.assignee_id FROM incident_assignees a"
            "       WHERE a.incident_id = i.incident_id AND a.active ORDER BY 1)"
            " FROM incidents i JOIN incident_evidence e USING (incident_id)"
            " WHERE e.device_id = ANY(%s) ORDER BY e.device_id",
            (devices,),
        ).fetchall()


def escalations(settings: Settings, dev: str) -> list[tuple[str, list[str]]]:
    """The escalation steps of the incident with evidence from `dev`: level, whom it named."""
    with psycopg.connect(settings.postgres.conninfo()) as conn:
        rows = conn.execute(
            "SELECT s.level, ARRAY(SELECT n.recipient FROM notifications n"
            "  WHERE n.incident_id = s.incident_id AND n.kind = 'escalated' ORDER BY 1)"
            " FROM incident_steps s JOIN incident_evidence e USING (incident_id)"
            " WHERE e.device_id = %s AND s.action = 'escalate' ORDER BY s.seq",
            (dev,),
        ).fetchall()
    return [(level, list(recipients)) for level, recipients in rows]


def test_the_same_events_give_the_same_incidents_assignments_and_escalations(
    mode: Mode, grid: Grid
) -> None:
    cells: list[Cell] = [grid.cells[len(grid) // 9], grid.cells[len(grid) // 9 + 40]]
    staff: list[dict[str, User]] = [staff_on_duty(mode.settings, grid, c) for c in cells]
    fire, smoke, fall = device(), device(), device()
    t0 = now()
    (lon, lat), (lon2, lat2) = cells[0].centroid, cells[1].centroid
    mode.publish(fire, event(device=fire, event_id=f"{fire}-1", at=t0, lon=lon, lat=lat))
    for n in range(3):  # smoke confirmed by one tower's third sighting within the window
        doc = event(
            "blue-sky.smoke",
            device=smoke,
            event_id=f"{smoke}-{n}",
            at=t0 + timedelta(seconds=40 * n),
            lon=lon2,
            lat=lat2,
        )
        mode.publish(smoke, doc)
    doc = event(
        "sharp-eyes.fall",
        device=fall,
        event_id=f"{fall}-1",
        at=t0,
        lon=lon2,
        lat=lat2,
        confidence=0.8,
    )
    mode.publish(fall, doc, "sharp-eyes")

    def settled() -> list[tuple[Any, ...]]:
        rows = outcome(mode.settings, [fire, smoke, fall])
        done = {r[0] for r in rows if r[3] == "dispatched"}
        return rows if done == {fire, smoke, fall} else []

    rows = wait_until(settled, timeout=PIPELINE_TIMEOUT, what=f"dispatched incidents ({mode.name})")
    workers = [s["worker"].id for s in staff]
    assert sorted({(r[0], r[1], r[2], r[3], tuple(r[4])) for r in rows}) == sorted(
        {
            (fire, "fire", 4, "dispatched", (workers[0],)),
            (smoke, "smoke", 3, "dispatched", (workers[1],)),
            (fall, "fall", 3, "dispatched", (workers[1],)),
        }
    )

    # Nobody accepts the fall within its minute: it goes up to the village, once.
    boss = staff[1]["supervisor"].id
    climbed = wait_until(
        lambda: escalations(mode.settings, fall),
        timeout=PIPELINE_TIMEOUT,
        what=f"the fall escalated ({mode.name})",
    )
    assert climbed == [("village", [boss])]
