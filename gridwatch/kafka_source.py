"""The `RecordSource` of the distributed mode: a kafka-python consumer in a group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from kafka import KafkaConsumer

from gridwatch.ports import RecordSource, SourceFactory
from gridwatch.settings import KafkaSettings

# How old a Kafka consumer's metadata may get. A consumer group that formed while its topics
# were still being created is assigned no partitions, and rejoins only once refreshed metadata
# shows them: every 10 s rather than the clients' default of 5 minutes.
METADATA_MAX_AGE_MS = 10_000


def kafka_sources(kafka: KafkaSettings) -> SourceFactory:
    """Kafka consumers: offsets committed by hand; a new group reads from the start."""

    def build(
        topics: Sequence[str], group: str | None, client: str, max_records: int
    ) -> RecordSource:
        consumer = KafkaConsumer(
            *topics,
            bootstrap_servers=kafka.bootstrap,
            group_id=group,
            client_id=client,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if group is not None else "latest",
            max_poll_records=max_records,
            metadata_max_age_ms=METADATA_MAX_AGE_MS,
        )
        # kafka-python is untyped; its consumer has exactly the calls of the port.
        return cast(RecordSource, consumer)

    return build
