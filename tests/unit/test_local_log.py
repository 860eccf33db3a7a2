"""The embedded log on the real file system: order, durability, torn tails, groups, retention."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import OffsetAndMetadata, TopicPartition

from gridwatch.local_log.consumer import GroupOffsets, LocalConsumer
from gridwatch.local_log.log import LocalLog, partition_of
from gridwatch.local_log.partition import Partition
from gridwatch.local_log.segments import SUFFIX
from gridwatch.local_log.sink import LocalSink

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def log(tmp_path: Path) -> Iterator[LocalLog]:
    opened = LocalLog(tmp_path / "log", partitions=3)
    yield opened
    opened.close()


def fill(log: LocalLog, topic: str, items: list[tuple[bytes, bytes]]) -> list[BaseException | None]:
    """Append, wait until durable, and return each record's outcome."""
    outcomes: list[BaseException | None] = []
    for key, value in items:
        log.append(topic, key, value, outcomes.append)
    log.flush(10)
    return outcomes


def everything(log: LocalLog, topic: str) -> dict[int, list[tuple[bytes, bytes]]]:
    """Each partition's records, in offset order."""
    return {
        n: [(r.key, r.value) for r in log.read(topic, n, 0, 10_000)] for n in range(log.partitions)
    }


def test_a_key_keeps_its_partition_and_its_order(log: LocalLog) -> None:
    items = [(f"cell-{n % 5}".encode(), f"v{n}".encode()) for n in range(50)]
    assert fill(log, "events", items) == [None] * 50
    stored = everything(log, "events")
    for key in {k for k, _ in items}:
        wanted = [(k, v) for k, v in items if k == key]
        assert [kv for kv in stored[partition_of(key, 3)] if kv[0] == key] == wanted
    assert sum(len(v) for v in stored.values()) == 50


def test_records_survive_a_reopen_and_a_torn_tail_is_cut(tmp_path: Path) -> None:
    first = LocalLog(tmp_path, partitions=1)
    fill(first, "t", [(b"k", b"one"), (b"k", b"two")])
    first.close()
    [segment] = (tmp_path / "t" / "0").glob(f"*{SUFFIX}")
    with segment.open("ab") as f:
        f.write(b"\x00\x00\x00\x30half a frame")  # a crash in the middle of a write
    again = LocalLog(tmp_path, partitions=1)
    try:
        assert fill(again, "t", [(b"k", b"three")]) == [None]
        assert [r.value for r in again.read("t", 0, 0, 10)] == [b"one", b"two", b"three"]
        assert [r.offset for r in again.read("t", 0, 1, 10)] == [1, 2]
    finally:
        again.close()


def test_readers_never_see_a_record_before_it_is_durable(tmp_path: Path) -> None:
    slow = LocalLog(tmp_path, partitions=1, sync_every_s=3600)
    acked: list[BaseException | None] = []
    slow.append("t", b"k", b"v", acked.append)
    assert (slow.read("t", 0, 0, 10), acked) == ([], [])
    slow.close()  # the last sync
    assert acked == [None]
    reopened = LocalLog(tmp_path, partitions=1)
    assert [r.value for r in reopened.read("t", 0, 0, 10)] == [b"v"]
    reopened.close()


WRITER = """
import sys
from pathlib import Path
from gridwatch.local_log.log import LocalLog
log = LocalLog(Path(sys.argv[1]), partitions=2)
def acked(n):
    def done(exc):
        if exc is None:
            print(n, flush=True)
    return done
n = 0
while True:
    log.append("t", str(n % 7).encode(), str(n).encode(), acked(n))
    n += 1
"""


def test_every_acknowledged_record_survives_sigkill(tmp_path: Path) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert writer.stdout is not None
    acked = []
    for line in writer.stdout:
        acked.append(int(line))
        if len(acked) >= 2000:
            break
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    acked += [int(line) for line in writer.stdout.read().split()]
    log = LocalLog(tmp_path, partitions=2)
    try:
        kept = {p: [int(v) for _, v in part] for p, part in everything(log, "t").items()}
    finally:
        log.close()
    assert set(acked) <= {n for part in kept.values() for n in part}
    # Each partition holds a prefix of what was appended to it: no hole, no disorder.
    for number, part in kept.items():
        sent = [n for n in range(max(part) + 1) if partition_of(str(n % 7).encode(), 2) == number]
        assert part == sent


def test_a_group_resumes_where_it_committed(tmp_path: Path) -> None:
    log = LocalLog(tmp_path, partitions=1)
    fill(log, "t", [(b"k", str(n).encode()) for n in range(10)])
    groups = GroupOffsets(log)
    reader = LocalConsumer(log, groups, "t", group_id="g", max_poll_records=4)
    tp = TopicPartition("t", 0)
    assert [r.value for r in reader.poll()[tp]] == [b"0", b"1", b"2", b"3"]
    reader.commit({tp: OffsetAndMetadata(3, "", -1)})
    log.close()

    log = LocalLog(tmp_path, partitions=1)
    again = LocalConsumer(log, GroupOffsets(log), "t", group_id="g")
    assert [r.value for r in again.poll()[tp]] == [str(n).encode() for n in range(3, 10)]
    again.seek(tp, 8)
    assert [r.value for r in again.poll()[tp]] == [b"8", b"9"]
    late = LocalConsumer(log, GroupOffsets(log), "t", group_id="new", auto_offset_reset="latest")
    assert late.poll() == {}
    with pytest.raises(ValueError, match="needs a consumer group"):
        LocalConsumer(log, GroupOffsets(log), "t", group_id=None).commit()
    log.close()


def test_poll_waits_for_the_next_record(log: LocalLog) -> None:
    reader = LocalConsumer(log, GroupOffsets(log), "t", group_id="g")
    assert reader.poll() == {}
    later = threading.Timer(0.2, lambda: log.append("t", b"k", b"late", lambda _e: None))
    later.start()
    got = reader.poll(timeout_ms=10_000)
    later.join()
    assert [r.value for batch in got.values() for r in batch] == [b"late"]


def test_retention_drops_old_segments_only_once_every_group_has_read_them(tmp_path: Path) -> None:
    log = LocalLog(tmp_path, partitions=1, segment_bytes=200, retention_s=0)
    groups = GroupOffsets(log)
    fill(log, "t", [(b"k", b"x" * 50) for _ in range(20)])
    folder = tmp_path / "t" / "0"
    segments = len(list(folder.glob(f"*{SUFFIX}")))
    assert segments > 3
    groups.commit("slow", {TopicPartition("t", 0): 0})
    far_future = 2**62
    assert log.retain(far_future) == 0  # the slow group has read nothing yet
    groups.commit("slow", {TopicPartition("t", 0): 12})
    dropped = log.retain(far_future)
    assert dropped > 0 and len(list(folder.glob(f"*{SUFFIX}"))) == segments - dropped
    start, end = log.bounds("t", 0)
    assert start <= 12 and end == 20
    reader = LocalConsumer(log, groups, "t", group_id="fresh")
    assert reader.poll()[TopicPartition("t", 0)][0].offset == start
    log.close()


def test_the_sink_reports_a_closed_log_as_a_failure(tmp_path: Path) -> None:
    log = LocalLog(tmp_path, partitions=1)
    sink = LocalSink(log)
    outcomes: list[BaseException | None] = []
    sink.send("t", b"k", b"v", outcomes.append)
    sink.flush(10)
    log.close()
    sink.send("t", b"k", b"w", outcomes.append)
    assert outcomes[0] is None and isinstance(outcomes[1], RuntimeError)


def test_a_failed_fsync_acknowledges_nothing_and_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = iter([True, True])
    real_sync = Partition.sync

    def flaky(self: Partition, upto: int) -> None:
        if next(failures, False):
            raise OSError(5, "injected: input/output error")
        real_sync(self, upto)

    monkeypatch.setattr(Partition, "sync", flaky)
    log = LocalLog(tmp_path, partitions=1)
    try:
        assert fill(log, "t", [(b"k", b"v")]) == [None]  # acknowledged once a sync worked
        assert [r.value for r in log.read("t", 0, 0, 10)] == [b"v"]
    finally:
        log.close()


def test_flush_says_so_when_the_disk_keeps_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Partition, upto: int) -> None:
        raise OSError(28, "injected: no space left on device")

    log = LocalLog(tmp_path, partitions=1)
    monkeypatch.setattr(Partition, "sync", broken)
    acked: list[BaseException | None] = []
    log.append("t", b"k", b"v", acked.append)
    with pytest.raises(TimeoutError, match="did not sync"):
        log.flush(0.2)
    assert (acked, log.read("t", 0, 0, 10)) == ([], [])
    monkeypatch.undo()
    log.close()
    assert acked == [None]  # the last sync at close got it to disk
