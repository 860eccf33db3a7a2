"""The `RecordSource` of the embedded mode: a member of a group reading the embedded log."""

from __future__ import annotations

from collections.abc import Sequence

from gridwatch.local_log.consumer import GroupOffsets, LocalConsumer
from gridwatch.local_log.log import LocalLog
from gridwatch.ports import RecordSource, SourceFactory


def local_sources(log: LocalLog) -> SourceFactory:
    """Consumers of the embedded log, sharing one store of group offsets."""
    groups = GroupOffsets(log)

    def build(topics: Sequence[str], group: str, _client: str, max_records: int) -> RecordSource:
        return LocalConsumer(log, groups, *topics, group_id=group, max_poll_records=max_records)

    return build
