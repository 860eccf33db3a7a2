"""The MQTT → log bridge: a message is acknowledged to the broker only once the log has it."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from gridwatch.devices import DeviceStatus
from gridwatch.grid.model import Grid
from gridwatch.ports import RecordSink
from gridwatch.records import DeadLetter, RoutedEvent
from gridwatch.rejections import Rejection
from gridwatch.settings import KafkaSettings, MqttSettings
from ingest.acks import AckWindow
from ingest.validate import DEVICE_TOPIC, STATUS_TOPIC, route_message, route_status

log = logging.getLogger(__name__)

EVENTS_FILTER = "gridwatch/v1/+/+/events"
STATUS_FILTER = "gridwatch/v1/+/+/status"


class BridgeStats:
    """Counters the bridge reports while it runs."""

    def __init__(self) -> None:
        self.received = 0
        self.routed = 0
        self.dead_lettered = 0
        self.acked = 0


class Bridge:
    """Moves device events and statuses from MQTT into the log, dead-lettering the rest."""

    def __init__(
        self,
        *,
        mqtt_settings: MqttSettings,
        kafka_settings: KafkaSettings,
        grid: Grid,
        sink: RecordSink,
    ) -> None:
        self._mqtt = mqtt_settings
        self._events_topic = kafka_settings.topic("events")
        self._findings_topic = kafka_settings.topic("findings")
        self._deadletter_topic = kafka_settings.topic("deadletter")
        self._grid = grid
        self._sink = sink
        self._window = AckWindow()
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self.stats = BridgeStats()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=mqtt_settings.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """The shared subscriptions all bridges of the group use: events and status."""
        return tuple(f"$share/{self._mqtt.share_group}/{f}" for f in (EVENTS_FILTER, STATUS_FILTER))

    def _on_connect(
        self, client: mqtt.Client, _u: Any, flags: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if reason.is_failure:
            log.error("MQTT connect refused: %s", reason)
            return
        log.info(
            "connected to MQTT %s:%s (session present: %s)",
            self._mqtt.host,
            self._mqtt.port,
            flags.session_present,
        )
        # Subscribing again on a resumed session is harmless and repairs a lost subscription.
        client.subscribe([(subscription, 1) for subscription in self.subscriptions])

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if not self._stop.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.stats.received += 1
        received_at = datetime.now(UTC)
        payload = bytes(msg.payload)
        routed: RoutedEvent | DeviceStatus | Rejection
        if STATUS_TOPIC.match(msg.topic):
            routed = route_status(msg.topic, payload, received_at=received_at)
        else:
            routed = route_message(msg.topic, payload, grid=self._grid, received_at=received_at)
        if msg.qos > 0:
            self._window.add(msg.mid)
        if isinstance(routed, Rejection):
            self.stats.dead_lettered += 1
            match = DEVICE_TOPIC.match(msg.topic)
            device = match.group(2) if match else msg.topic
            log.warning(
                "dead-lettered message from %s: %s (%s)",
                msg.topic,
                routed.reason,
                routed.code,
                extra={"device_id": device},
            )
            letter = DeadLetter.of(
                code=routed.code,
                reason=routed.reason,
                topic=msg.topic,
                payload=payload,
                received_at=received_at,
                rejected_by=self._mqtt.client_id,
            )
            topic, key, value = (
                self._deadletter_topic,
                device,
                letter.model_dump_json(by_alias=True),
            )
        else:
            self.stats.routed += 1
            # A status has no location: it goes straight to the county-wide health tracker.
            topic, key = (
                (self._findings_topic, self._grid.county)
                if isinstance(routed, DeviceStatus)
                else (self._events_topic, routed.cell_id)
            )
            value = routed.model_dump_json(by_alias=True)
        mid, qos = msg.mid, msg.qos
        self._sink.send(
            topic, key.encode(), value.encode(), lambda exc: self._on_durable(mid, qos, exc)
        )

    def _on_durable(self, mid: int, qos: int, exc: BaseException | None) -> None:
        if exc is not None:
            # Without the log we must not ack anything more: stop, let the broker keep the
            # unacknowledged messages, and let the supervisor restart us.
            log.error("log write failed, stopping the bridge: %r", exc)
            self._failure = exc
            self._stop.set()
            return
        if qos == 0:
            return
        for ready in self._window.complete(mid):
            self._client.ack(ready, 1)
            self.stats.acked += 1

    def run(self, *, stats_every_s: float = 30.0) -> int:
        """Connect and bridge until `stop()` or a log failure; return the exit status."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self._mqtt.session_expiry_s
        props.ReceiveMaximum = self._mqtt.receive_maximum
        self._client.connect(
            self._mqtt.host,
            self._mqtt.port,
            keepalive=self._mqtt.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self._client.loop_start()
        last = time.monotonic()
        try:
            while not self._stop.wait(timeout=1.0):
                if time.monotonic() - last >= stats_every_s:
                    last = time.monotonic()
                    log.info(
                        "bridge: received %d, routed %d, dead-lettered %d, acked %d, in flight %d",
                        self.stats.received,
                        self.stats.routed,
                        self.stats.dead_lettered,
                        self.stats.acked,
                        len(self._window),
                    )
        finally:
            if self._failure is None:
                # Let in-flight writes finish so their acks go out before we disconnect.
                self._sink.flush(timeout_s=10)
            self._client.disconnect()
            self._client.loop_stop()
            self._sink.close()
        return 1 if self._failure is not None else 0

    def stop(self) -> None:
        """Ask `run` to return after draining in-flight writes."""
        self._stop.set()
