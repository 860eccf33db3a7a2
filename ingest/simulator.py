"""`gridwatch simulate`: the simulated feeds published over real MQTT, in real time."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gridwatch.grid.model import Grid
from gridwatch.settings import MqttSettings
from ingest.sim_fleet import place_fleet
from ingest.sim_traffic import Traffic, counts_by_kind

log = logging.getLogger(__name__)
# Unacknowledged publishes allowed before the simulator waits for the broker: a slow broker
# slows the simulated devices down instead of filling memory (paho's ids are 16-bit anyway).
WINDOW = 1000
STEP_S = 0.2


class Simulator:
    """Publishes a seeded county's traffic to the broker until stopped or `duration_s` ends."""

    def __init__(
        self, grid: Grid, mqtt_settings: MqttSettings, *, devices: int, seed: int, rate: float
    ) -> None:
        self._mqtt = mqtt_settings
        self.fleet = place_fleet(grid, devices, random.Random(seed))
        self.traffic = Traffic(self.fleet, seed=seed, rate=rate, start=datetime.now(UTC))
        self._stop = threading.Event()
        self.published = 0
        self.lost = 0
        # MQTT 3.1.1: what every camera speaks, and all the embedded broker understands.
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"gridwatch-simulator-{seed}",
            protocol=mqtt.MQTTv311,
        )

    def _settle(self, info: mqtt.MQTTMessageInfo) -> None:
        """Wait for one publish; one lost to a dropped connection is counted, not fatal."""
        try:
            info.wait_for_publish(timeout=30)
        except (RuntimeError, ValueError) as exc:
            # paho reconnects by itself; a simulated device simply loses that message.
            self.lost += 1
            log.warning("a publish was lost (%s); the broker connection is being retried", exc)

    def stop(self) -> None:
        """Ask `run` to return after the publish in hand."""
        self._stop.set()

    def run(self, *, duration_s: float | None = None, report_every_s: float = 30.0) -> int:
        """Publish until stopped (or for `duration_s`); 0, or 1 if the broker cannot be reached."""
        kinds = counts_by_kind(self.fleet)
        log.info(
            "simulating %d Sharp Eyes cameras, %d Blue Sky fire cameras, %d air stations",
            kinds["camera"],
            kinds["fire_camera"],
            kinds["air_station"],
        )
        try:
            self._client.connect(self._mqtt.host, self._mqtt.port, keepalive=self._mqtt.keepalive_s)
        except OSError as exc:
            log.error(
                "cannot reach the MQTT broker at %s:%d: %s", self._mqtt.host, self._mqtt.port, exc
            )
            return 1
        self._client.loop_start()
        in_flight: deque[mqtt.MQTTMessageInfo] = deque()
        ends = None if duration_s is None else time.monotonic() + duration_s
        next_report, seen = time.monotonic() + report_every_s, 0
        try:
            while not self._stop.is_set() and (ends is None or time.monotonic() < ends):
                for message in self.traffic.due(datetime.now(UTC)):
                    in_flight.append(self._client.publish(message.topic, message.payload, qos=1))
                    self.published += 1
                    while len(in_flight) >= WINDOW or (in_flight and in_flight[0].is_published()):
                        self._settle(in_flight.popleft())
                for happening in self.traffic.happened[seen:]:
                    log.info(
                        "scenario %s at %s in cell %s",
                        happening.scenario,
                        happening.device_id,
                        happening.cell_id,
                    )
                seen = len(self.traffic.happened)
                if time.monotonic() >= next_report:
                    log.info("published %d messages", self.published)
                    next_report += report_every_s
                self._stop.wait(STEP_S)
            for info in in_flight:
                self._settle(info)
        finally:
            self._client.disconnect()
            self._client.loop_stop()
        return 0
