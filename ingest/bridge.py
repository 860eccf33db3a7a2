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

from gridwatch.grid.model import Grid
from gridwatch.ports import RecordSink
from gridwatch.settings import KafkaSettings, MqttSettings
from ingest.acks import AckWindow
from ingest.routing import Router

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
        self._router = Router(kafka_settings, grid, rejected_by=mqtt_settings.client_id)
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
        record = self._router.route(msg.topic, bytes(msg.payload), received_at=datetime.now(UTC))
        if msg.qos > 0:
            self._window.add(msg.mid)
        if record.rejection is not None:
            self.stats.dead_lettered += 1
            log.warning(
                "dead-lettered message from %s: %s (%s)",
                msg.topic,
                record.rejection.reason,
                record.rejection.code,
                extra={"device_id": record.device},
            )
        else:
            self.stats.routed += 1
        mid, qos = msg.mid, msg.qos
        self._sink.send(
            record.topic, record.key, record.value, lambda exc: self._on_durable(mid, qos, exc)
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
