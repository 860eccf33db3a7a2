"""The embedded mode's MQTT broker: amqtt on loopback, each device message durable before its ack.

amqtt acknowledges a QoS 1 publish as soon as it has queued it in memory, and does not
redeliver what a crash took (../shared/STACK.md). So here the broker's side of each connection
first hands the message to the log (the bridge's own Router rule) and waits until the log has
made it durable; only then does amqtt send the PUBACK (or PUBREC). A device whose message was
lost to a crash never got its ack, and publishes it again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import amqtt.broker
from amqtt.broker import Broker
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.session import INCOMING, IncomingApplicationMessage, OutgoingApplicationMessage

from gridwatch.durable import send_durably
from gridwatch.ports import RecordSink
from ingest.routing import Router

log = logging.getLogger(__name__)

Intake = Callable[[str, bytes], Awaitable[None]]
# Longer than any fsync: past it the ack is withheld and the device publishes again later.
DURABLE_TIMEOUT_S = 30.0


def _intake_of(handler: BrokerProtocolHandler) -> Intake | None:
    # amqtt gives a connection's handler its broker only through the plugins' context.
    broker = getattr(handler.plugins_manager.context, "_broker_instance", None)
    intake: Intake | None = getattr(broker, "gridwatch_intake", None)
    return intake


class _DurableHandler(BrokerProtocolHandler):  # type: ignore[misc]
    """amqtt's broker side of one connection, acknowledging only what the log holds."""

    async def _handle_message_flow(
        self, app_message: IncomingApplicationMessage | OutgoingApplicationMessage
    ) -> None:
        intake = _intake_of(self)
        if intake is not None and app_message.direction == INCOMING:
            # Raising here sends no ack: the device keeps the message and sends it again.
            await intake(app_message.topic, bytes(app_message.data or b""))
        await super()._handle_message_flow(app_message)


# Every handler amqtt makes is looked up by this module-level name (amqtt 0.12.1, pinned).
amqtt.broker.BrokerProtocolHandler = _DurableHandler


def durable_intake(router: Router, sink: RecordSink) -> Intake:
    """Route a device message and return once the log has its record durably."""

    async def intake(topic: str, payload: bytes) -> None:
        record = router.route(topic, payload, received_at=datetime.now(UTC))
        if record.rejection is not None:
            log.warning(
                "dead-lettered message from %s: %s (%s)",
                topic,
                record.rejection.reason,
                record.rejection.code,
                extra={"device_id": record.device},
            )
        await send_durably(
            sink, record.topic, record.key, record.value, timeout_s=DURABLE_TIMEOUT_S
        )

    return intake


def broker_config(host: str, port: int) -> dict[str, Any]:
    """One plain TCP listener on `host:port`; devices connect without credentials for now."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def start_broker(host: str, port: int, intake: Intake) -> Broker:
    """A started amqtt broker whose device messages go through `intake` before their ack."""
    broker = Broker(broker_config(host, port))
    broker.gridwatch_intake = intake
    await broker.start()
    return broker
