"""Create gridwatch's Kafka topics when they are missing (kafka-python admin client)."""

from __future__ import annotations

import contextlib
import logging

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from gridwatch.settings import KafkaSettings
from gridwatch.topics import topic_specs

log = logging.getLogger(__name__)


def ensure_topics(kafka: KafkaSettings) -> None:
    """Create every missing topic of `topic_specs`; existing topics are left as they are."""
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, client_id="gridwatch-admin")
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(
                name=spec.name,
                num_partitions=spec.partitions,
                replication_factor=kafka.replication_factor,
                topic_configs={"retention.ms": str(spec.retention_ms)},
            )
            for spec in topic_specs(kafka)
            if spec.name not in existing
        ]
        if not missing:
            return
        # Another process (a second bridge) may create them between our list and create.
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics(missing)
        log.info("created topics %s", ", ".join(t.name for t in missing))
    finally:
        admin.close()
