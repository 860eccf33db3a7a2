"""The Kafka topics of gridwatch, their keys, sizes and retention."""

from __future__ import annotations

from dataclasses import dataclass

from gridwatch.settings import KafkaSettings

_HOUR_MS = 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    """One topic as it should exist on the cluster."""

    name: str
    partitions: int
    retention_ms: int


def topic_specs(kafka: KafkaSettings) -> list[TopicSpec]:
    """Every topic gridwatch writes, sized from the settings."""
    keep = kafka.incidents_retention_h * _HOUR_MS
    return [
        TopicSpec(kafka.topic("events"), kafka.partitions, kafka.events_retention_h * _HOUR_MS),
        TopicSpec(kafka.topic("incidents"), kafka.partitions, keep),
        # Keyed by county: fusion sees every finding of a county in order.
        TopicSpec(kafka.topic("findings"), kafka.partitions, keep),
        # Keyed by cell, like events: people's closings and cancellations, read by the cell stage.
        TopicSpec(kafka.topic("feedback"), kafka.partitions, keep),
        TopicSpec(kafka.topic("notifications"), kafka.partitions, keep),
        # Keyed by device: false-alarm adjustments, read by the store for operators to see.
        TopicSpec(kafka.topic("adjustments"), kafka.partitions, keep),
        # One partition: dead letters are rare and read by people in arrival order.
        TopicSpec(kafka.topic("deadletter"), 1, kafka.deadletter_retention_h * _HOUR_MS),
    ]
