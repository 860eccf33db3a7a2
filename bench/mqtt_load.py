"""The MQTT side: paho clients, the windowed QoS 1 publisher, arrival counting, paho alone."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from multiprocessing.queues import Queue
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from bench.measurements import (
    PUBLISH_TIMEOUT_S,
    READY_TIMEOUT_S,
    CpuMeter,
    Measurement,
    Published,
)
from gridwatch.settings import MqttSettings

# Unacknowledged QoS 1 publishes allowed at once: paho's message ids are 16-bit, and
# Mosquitto's own in-flight limit (deploy/mosquitto) is 1000.
PUBLISH_WINDOW = 1000
# Give up on stragglers once the publisher is done and nothing arrived for this long.
IDLE_GIVE_UP_S = 15.0


def new_client(name: str, *, manual_ack: bool = False) -> mqtt.Client:
    """A paho MQTT 5 client with a unique id."""
    return mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bench-{name}-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv5,
        manual_ack=manual_ack,
    )


def connect(client: mqtt.Client, settings: MqttSettings) -> None:
    """Connect with the bridge's Receive Maximum, start the network thread, await CONNACK."""
    ready = threading.Event()

    def on_connect(_c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if not reason.is_failure:
            ready.set()

    client.on_connect = on_connect
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.ReceiveMaximum = settings.receive_maximum
    client.connect(settings.host, settings.port, keepalive=60, properties=props)
    client.loop_start()
    if not ready.wait(READY_TIMEOUT_S):
        raise RuntimeError(f"no CONNACK from MQTT {settings.host}:{settings.port}")


def subscribe(client: mqtt.Client, topic: str) -> None:
    """Subscribe at QoS 1 and wait for the SUBACK."""
    done = threading.Event()
    client.on_subscribe = lambda *_: done.set()
    client.subscribe(topic, qos=1)
    if not done.wait(READY_TIMEOUT_S):
        raise RuntimeError(f"no SUBACK for {topic}")


def disconnect(client: mqtt.Client) -> None:
    """Disconnect and stop the network thread."""
    client.disconnect()
    client.loop_stop()


class Window:
    """Caps unacknowledged publishes and notes when the last PUBACK arrives."""

    def __init__(self, size: int, total: int) -> None:
        self._slots = threading.BoundedSemaphore(size)
        self._left = total
        self.finished = threading.Event()
        self.finished_at = 0.0

    def take(self) -> None:
        """Wait for a free slot."""
        self._slots.acquire()

    def release(self, *_: object) -> None:
        """`on_publish`: a PUBACK frees a slot."""
        self._slots.release()
        self._left -= 1
        if self._left == 0:
            self.finished_at = time.monotonic()
            self.finished.set()


def publish_all(
    settings: MqttSettings, topic: str, payloads: list[bytes], out: Queue[Published]
) -> None:
    """Child process: publish at QoS 1; report the span to the last PUBACK and its CPU."""
    client = new_client("pub")
    client.max_inflight_messages_set(PUBLISH_WINDOW)
    window = Window(PUBLISH_WINDOW, len(payloads))
    client.on_publish = window.release
    connect(client, settings)
    started, cpu_started = time.monotonic(), time.process_time()
    for body in payloads:
        window.take()
        info = client.publish(topic, body, qos=1)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise RuntimeError(f"publish refused: {mqtt.error_string(info.rc)}")
    if not window.finished.wait(PUBLISH_TIMEOUT_S):
        raise RuntimeError("the broker did not acknowledge every publish")
    out.put(Published(window.finished_at - started, time.process_time() - cpu_started))
    disconnect(client)


class Publisher:
    """`publish_all` in a child process; its rate is read once it is done."""

    def __init__(self, settings: MqttSettings, topic: str, payloads: list[bytes]) -> None:
        ctx = mp.get_context("spawn")
        self._count = len(payloads)
        self._out: Queue[Published] = ctx.Queue()
        self._proc = ctx.Process(
            target=publish_all, args=(settings, topic, payloads, self._out), daemon=True
        )

    def start(self) -> Publisher:
        """Start the child."""
        self._proc.start()
        return self

    def running(self) -> bool:
        """The child has not exited yet."""
        return self._proc.is_alive()

    def result(self) -> tuple[float, float]:
        """Wait for the child; its messages/s (first publish → last PUBACK) and cores busy."""
        published = self._out.get(timeout=PUBLISH_TIMEOUT_S)
        self._proc.join(timeout=READY_TIMEOUT_S)
        if self._proc.exitcode != 0:
            raise RuntimeError(f"the publisher exited with {self._proc.exitcode}")
        return self._count / published.seconds, published.cpu_seconds / published.seconds


class Arrivals:
    """Arrival times of distinct messages, the first and the latest new one; CPU in between."""

    def __init__(self, expected: int, meter: CpuMeter) -> None:
        self.expected = expected
        self.total = 0
        self._distinct: set[Hashable] = set()
        self._first = self._last = time.monotonic()
        self._meter = meter
        self._busy: dict[str, float] | None = None
        self.complete = threading.Event()

    def note(self, ident: Hashable) -> None:
        """One message arrived."""
        now = time.monotonic()
        if self.total == 0:
            self._first = now
            self._meter.start()
        self.total += 1
        if ident not in self._distinct:
            self._distinct.add(ident)
            self._last = now
            if len(self._distinct) == self.expected:
                self._busy = self._meter.busy()
                self.complete.set()

    def idle_s(self) -> float:
        """Seconds since anything new arrived (or since counting began)."""
        return time.monotonic() - self._last

    def measurement(self, publisher: Publisher) -> Measurement:
        """Distinct messages per second from the first to the last one, and what is missing."""
        # Incomplete (lost messages): CPU up to now, which includes the idle wait.
        busy = self._busy if self._busy is not None else self._meter.busy()
        publisher_rate, publisher_busy = publisher.result()
        distinct = len(self._distinct)
        span = self._last - self._first
        return Measurement(
            rate=(distinct - 1) / span if distinct > 1 and span > 0 else 0.0,
            publisher_rate=publisher_rate,
            lost=self.expected - distinct,
            duplicates=self.total - distinct,
            cpu={"publisher": round(publisher_busy, 2), **busy},
        )


def await_arrivals(arrivals: Arrivals, publisher: Publisher, step: Callable[[], object]) -> None:
    """Run `step` until all arrived, or the publisher is done and nothing new comes."""
    while not arrivals.complete.is_set():
        step()
        if not publisher.running() and arrivals.idle_s() > IDLE_GIVE_UP_S:
            return


def measure_paho(settings: MqttSettings, payloads: list[bytes]) -> Measurement:
    """A manual-ack MQTT 5 subscriber acking each message at once, fed by the publisher."""
    topic = f"gwbench/{uuid.uuid4().hex[:8]}/events"
    arrivals = Arrivals(len(payloads), CpuMeter({"subscriber": os.getpid()}))

    def on_message(client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        client.ack(msg.mid, msg.qos)
        arrivals.note(bytes(msg.payload))  # as the bridge copies it

    client = new_client("sub", manual_ack=True)
    client.on_message = on_message
    connect(client, settings)
    try:
        subscribe(client, topic)
        publisher = Publisher(settings, topic, payloads).start()
        await_arrivals(arrivals, publisher, lambda: arrivals.complete.wait(0.2))
        return arrivals.measurement(publisher)
    finally:
        disconnect(client)
