"""The `RecordSource` of the embedded mode: a member of a group reading the embedded log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from gridwatch.local_log.consumer import GroupOffsets, LocalConsumer
from gridwatch.local_log.log import LocalLog
from gridwatch.ports import RecordSource, SourceFactory


def local_sources(log: LocalLog) -> SourceFactory:
    """Consumers of the embedded log, sharing one store of group offsets."""
    groups = GroupOffsets(log)

    def build(
        topics: Sequence[str], group: str | None, _client: str, max_records: int
    ) -> RecordSource:
        start: Literal["earliest", "latest"] = "earliest" if group is not None else "latest"
        return LocalConsumer(
            log,
            groups,
            *topics,
            group_id=group,
            auto_offset_reset=start,
            max_poll_records=max_records,
        )

    return build
