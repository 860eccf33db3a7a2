"""The embedded log puts each key in the partition the real Kafka producer puts it in."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from gridwatch.local_log.log import partition_of
from gridwatch.settings import Settings

pytestmark = pytest.mark.integration


def test_keys_land_in_the_same_partitions_as_on_kafka(settings: Settings) -> None:
    topic, partitions = f"gwparity{uuid.uuid4().hex[:8]}", 6
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap)
    try:
        keys = [
            b"410523",
            b"884092c0c9fffff",
            b"cam-0042",
            *(uuid.uuid4().bytes for _ in range(40)),
        ]
        on_kafka = [producer.send(topic, key=k, value=b"x").get(timeout=30).partition for k in keys]
    finally:
        producer.close()
        admin.delete_topics([topic])
        admin.close()
    assert [partition_of(k, partitions) for k in keys] == on_kafka
    assert len(set(on_kafka)) > 1
