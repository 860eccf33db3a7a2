"""`gridwatch run`: the whole platform in one process over the embedded log (docs/embedded.md).

Broker, detectors, queue writer, dispatcher and API are the distributed mode's own code with
the in-process adapters: the embedded log (`gridwatch.local_log`) instead of Kafka, amqtt with
durable acks (`ingest.embedded_broker`) instead of Mosquitto plus the bridge, or, with
`GRIDWATCH_MQTT__IN_PROCESS=false`, the bridge from the Mosquitto configured. Each part runs
on a thread of its own; the API, on the main thread, serves until Ctrl-C, then the parts stop
in reverse order and the log is closed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg

from alerts.dispatcher import Dispatcher
from alerts.queue import QueueWriter
from api.push import Feed, notification_feed
from api.routes.health import Probe
from api.schemas import DependencyCheck
from gridwatch.grid.model import Grid
from gridwatch.local_log.log import LocalLog
from gridwatch.local_log.sink import LocalSink
from gridwatch.local_log.source import local_sources
from gridwatch.notification_log import source_notifications
from gridwatch.settings import Settings
from gridwatch.store.incidents import count_open
from gridwatch.store.migrate import migrate
from ingest.bridge import Bridge
from ingest.embedded_broker import durable_intake, start_broker
from ingest.routing import Router
from streams.embedded import EmbeddedStreams

log = logging.getLogger(__name__)
# The part that takes events in over MQTT, whichever way it does.
INTAKE = "mqtt"


class Part:
    """One part of the platform on a thread of its own, with how to stop it."""

    def __init__(
        self,
        name: str,
        run: Callable[[], None],
        stop: Callable[[], None],
        failure: threading.Event,
    ) -> None:
        self.name = name
        self.stop = stop
        self.thread = threading.Thread(target=self._guarded, args=(run,), name=name, daemon=True)
        self.failed: BaseException | None = None
        self._failure = failure

    def _guarded(self, run: Callable[[], None]) -> None:
        try:
            run()
        except BaseException as exc:
            self.failed = exc
            log.exception("%s stopped", self.name)
            # A platform missing a part (no broker, no dispatcher) must not look alive.
            self._failure.set()


class Embedded:
    """The parts of the platform around one embedded log."""

    def __init__(self, settings: Settings, grid: Grid) -> None:
        self.settings = settings
        self.grid = grid
        root = settings.run_dir / "log"
        self.log = LocalLog(root, partitions=settings.kafka.partitions)
        self.sink = LocalSink(self.log)
        self.sources = local_sources(self.log)
        self.parts: list[Part] = []
        # Set when any part stops on an error: the process then stops as a whole.
        self.failure = threading.Event()
        self._broker_stop = threading.Event()
        self._streams: EmbeddedStreams | None = None

    def _broker(self) -> None:
        router = Router(self.settings.kafka, self.grid, rejected_by="embedded-broker")
        mqtt = self.settings.mqtt

        async def serve() -> None:
            broker = await start_broker(mqtt.host, mqtt.port, durable_intake(router, self.sink))
            log.info("MQTT broker on %s:%d", mqtt.host, mqtt.port)
            await asyncio.to_thread(self._broker_stop.wait)
            await broker.shutdown()

        asyncio.run(serve())

    def _intake(self) -> Part:
        """Where events come in: the in-process broker, or a bridge from the broker configured."""
        if self.settings.mqtt.in_process:
            return Part(INTAKE, self._broker, self._broker_stop.set, self.failure)
        bridge = Bridge(
            mqtt_settings=self.settings.mqtt,
            kafka_settings=self.settings.kafka,
            grid=self.grid,
            sink=self.sink,
        )

        def run() -> None:
            if bridge.run() != 0:
                raise RuntimeError("the bridge stopped: the embedded log refused a record")

        return Part(INTAKE, run, bridge.stop, self.failure)

    def _queue_writer(self) -> Part:
        conn = psycopg.connect(self.settings.postgres.conninfo(), autocommit=True)
        writer = QueueWriter(self.settings, conn=conn, sink=self.sink, sources=self.sources)

        def run() -> None:
            try:
                writer.run()
            finally:
                conn.close()

        return Part("alerts", run, writer.stop, self.failure)

    def _dispatcher(self) -> Part:
        stopping = threading.Event()
        holder: list[Dispatcher] = []

        async def serve() -> None:
            conninfo = self.settings.postgres.conninfo()
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                dispatcher = Dispatcher(
                    self.settings, conn=conn, sink=self.sink, grid=self.grid, sources=self.sources
                )
                holder.append(dispatcher)
                if stopping.is_set():
                    return
                await dispatcher.run()

        def stop() -> None:
            stopping.set()
            for dispatcher in holder:
                dispatcher.stop()

        return Part("dispatch", lambda: asyncio.run(serve()), stop, self.failure)

    def start(self) -> None:
        """Migrate the store, then start broker, detectors, queue writer and dispatcher."""
        with psycopg.connect(self.settings.postgres.conninfo(), autocommit=True) as conn:
            migrate(conn)
        self._streams = streams = EmbeddedStreams(
            self.settings,
            self.grid,
            sources=self.sources,
            sink=self.sink,
            state_file=Path(self.settings.run_dir) / "streams-state.json",
        )
        self.parts = [
            Part("streams", streams.run, streams.stop, self.failure),
            self._queue_writer(),
            self._dispatcher(),
            self._intake(),
        ]
        for part in self.parts:
            part.thread.start()

    def failed(self) -> list[str]:
        """The parts that stopped on an error, with it."""
        return [f"{p.name}: {p.failed!r}" for p in self.parts if p.failed is not None]

    def stop(self) -> None:
        """Stop the parts, newest first, then close the log."""
        for part in reversed(self.parts):
            part.stop()
        for part in reversed(self.parts):
            part.thread.join(timeout=20)
        self.log.close()

    def status(self, read_before: int, seconds: float) -> tuple[str, int]:
        """The status line over the last `seconds`, and the record count to pass next time."""
        streams = self._streams
        if streams is None:
            return "starting", 0
        read = streams.records_read
        with psycopg.connect(self.settings.postgres.conninfo()) as conn:
            open_now = count_open(conn)
        line = (
            f"devices online {streams.devices_online} · "
            f"events/s {(read - read_before) / seconds:.1f} · "
            f"incidents open {open_now}"
        )
        return line, read

    def probes(self) -> dict[str, Probe]:
        """What /readyz reports besides the store: the log and the in-process broker."""

        async def log_open() -> DependencyCheck:
            ok = self.log.syncing
            detail = f"embedded log in {self.log.root}" + ("" if ok else ", not syncing")
            return DependencyCheck(ok=ok, required=False, detail=detail)

        async def intake_up() -> DependencyCheck:
            mqtt = self.settings.mqtt
            intake = next((p for p in self.parts if p.name == INTAKE), None)
            ok = intake is not None and intake.thread.is_alive()
            how = "in-process broker on" if mqtt.in_process else "bridge from the broker at"
            detail = f"{how} {mqtt.host}:{mqtt.port}" + ("" if ok else ", stopped")
            return DependencyCheck(ok=ok, required=False, detail=detail)

        return {"log": log_open, "mqtt": intake_up}

    def feed(self) -> Feed:
        """The API's notification feed from this log: live pushes, webhook and Web Push."""
        topic = self.settings.kafka.topic("notifications")
        return notification_feed(self.settings, source_notifications(self.sources, topic))
