"""The embedded broker (amqtt, in process) with a real MQTT client: no ack before the log has it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gridwatch.grid.model import Grid
from gridwatch.local_log.log import LocalLog
from gridwatch.local_log.sink import LocalSink
from gridwatch.ports import Done
from gridwatch.settings import KafkaSettings
from ingest.embedded_broker import durable_intake, start_broker
from ingest.routing import Router
from tests.conftest import REPO, free_port, wait_until
from tests.support import event, payload, small_grid

pytestmark = pytest.mark.integration
# A point in the small grid's west cell.
LON, LAT = 114.32, 35.92


class HeldSink(LocalSink):
    """The embedded log's sink, holding each record's `done` until the test lets it go."""

    def __init__(self, log: LocalLog) -> None:
        super().__init__(log)
        self.held: list[Done] = []
        self.release = threading.Event()

    def send(self, topic: str, key: bytes, value: bytes, done: Done) -> None:
        """Append at once; report durable only once released."""

        def later(exc: BaseException | None) -> None:
            self.release.wait(30)
            done(exc)

        super().send(
            topic, key, value, lambda exc: threading.Thread(target=later, args=(exc,)).start()
        )


class Broker:
    """The embedded broker on a thread of its own, with the log it writes to."""

    def __init__(self, root: Path, grid: Grid, *, hold: bool) -> None:
        self.log = LocalLog(root, partitions=2)
        self.sink = HeldSink(self.log) if hold else LocalSink(self.log)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._stopped = threading.Event()
        router = Router(KafkaSettings(), grid, rejected_by="embedded-test")
        started = threading.Event()

        async def serve() -> None:
            broker = await start_broker("127.0.0.1", self.port, durable_intake(router, self.sink))
            started.set()
            await asyncio.to_thread(self._stopped.wait)
            await broker.shutdown()

        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(serve(),))
        self._thread.start()
        assert started.wait(10), "the broker did not start"

    def stop(self) -> None:
        if isinstance(self.sink, HeldSink):
            self.sink.release.set()
        self._stopped.set()
        self._thread.join(15)
        self.log.close()

    def records(self, topic: str) -> list[dict[str, Any]]:
        """Every durable record of a topic, parsed."""
        return [
            json.loads(r.value)
            for n in range(self.log.partitions)
            for r in self.log.read(topic, n, 0, 10_000)
        ]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    running = Broker(tmp_path, small_grid(), hold=False)
    yield running
    running.stop()


def device(port: int) -> mqtt.Client:
    """A camera's MQTT 3.1.1 client, connected."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="cam-test", protocol=mqtt.MQTTv311)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def test_events_statuses_and_refusals_reach_the_log_with_their_acks(broker: Broker) -> None:
    camera = device(broker.port)
    try:
        sent = [
            camera.publish(
                "gridwatch/v1/blue-sky/cam-1/events",
                payload(event(device="cam-1", event_id="cam-1-1", lon=LON, lat=LAT)),
                qos=1,
            ),
            camera.publish("gridwatch/v1/blue-sky/cam-1/status", b"offline", qos=1),
            camera.publish("gridwatch/v1/blue-sky/cam-1/events", b"{not json", qos=1),
        ]
        for info in sent:
            info.wait_for_publish(timeout=10)
    finally:
        camera.loop_stop()
        camera.disconnect()
    [routed] = broker.records("gridwatch.events")
    assert (routed["cell_id"], routed["event"]["id"]) == ("west", "cam-1-1")
    [status] = broker.records("gridwatch.findings")
    assert (status["device_id"], status["status"]) == ("cam-1", "offline")
    [letter] = broker.records("gridwatch.deadletter")
    assert (letter["code"], letter["rejected_by"]) == ("not_json", "embedded-test")


def test_the_ack_waits_until_the_log_says_durable(tmp_path: Path) -> None:
    held = Broker(tmp_path, small_grid(), hold=True)
    camera = device(held.port)
    try:
        info = camera.publish(
            "gridwatch/v1/blue-sky/cam-2/events",
            payload(event(device="cam-2", event_id="cam-2-1", lon=LON, lat=LAT)),
            qos=1,
        )
        wait_until(lambda: held.records("gridwatch.events"), timeout=10, what="the append")
        info.wait_for_publish(timeout=1.0)
        assert not info.is_published()  # appended, but not yet acknowledged by the log
        assert isinstance(held.sink, HeldSink)
        held.sink.release.set()
        info.wait_for_publish(timeout=10)
        assert info.is_published()
    finally:
        camera.loop_stop()
        camera.disconnect()
        held.stop()


SERVE = """
import asyncio, sys
from pathlib import Path
from typing import Any
from gridwatch.local_log.log import LocalLog
from gridwatch.local_log.sink import LocalSink
from gridwatch.settings import KafkaSettings
from ingest.embedded_broker import durable_intake, start_broker
from ingest.routing import Router
from tests.support import small_grid

async def main():
    log = LocalLog(Path(sys.argv[1]), partitions=2)
    router = Router(KafkaSettings(), small_grid(), rejected_by="killed")
    await start_broker("127.0.0.1", int(sys.argv[2]), durable_intake(router, LocalSink(log)))
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def test_every_acknowledged_event_survives_a_sigkill_of_the_broker(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(tmp_path), str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        camera = device(port)
        infos = {}
        for n in range(400):
            doc = event(device="cam-3", event_id=f"cam-3-{n}", lon=LON, lat=LAT)
            infos[n] = camera.publish("gridwatch/v1/blue-sky/cam-3/events", payload(doc), qos=1)
        wait_until(
            lambda: sum(i.is_published() for i in infos.values()) >= 100,
            timeout=60,
            what="a hundred acks",
        )
    finally:
        # Killed mid-stream, or left behind by a failure above: never outlives the test.
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
    acked = {n for n, info in infos.items() if info.is_published()}
    camera.loop_stop()
    log = LocalLog(tmp_path, partitions=2)
    try:
        kept = {
            json.loads(r.value)["event"]["id"]
            for n in range(2)
            for r in log.read("gridwatch.events", n, 0, 10_000)
        }
    finally:
        log.close()
    assert len(acked) >= 100
    assert {f"cam-3-{n}" for n in acked} <= kept
