"""One partition: its segments, rolled by size, dropped by age once every reader is past them."""

from __future__ import annotations

from pathlib import Path

from gridwatch.local_log.segments import SUFFIX, Segment, segment_path


class Partition:
    """Appends go to the newest segment; reads see only what was synced."""

    def __init__(self, folder: Path, *, segment_bytes: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._folder = folder
        self._segment_bytes = segment_bytes
        found = [Segment.open(p) for p in sorted(folder.glob(f"*{SUFFIX}"))]
        self.segments = found or [Segment(segment_path(folder, 0), 0)]
        # What survived on disk was synced before (a torn tail has just been cut off).
        self.synced = self.segments[-1].end

    @property
    def start(self) -> int:
        """The oldest offset still kept."""
        return self.segments[0].base

    @property
    def end(self) -> int:
        """The offset of the next append."""
        return self.segments[-1].end

    def append(self, frame: bytes, timestamp_ms: int) -> int:
        """Write a frame, rolling to a new segment when the current one is full; its offset."""
        current = self.segments[-1]
        if current.size >= self._segment_bytes:
            current.sync()
            current = Segment(segment_path(self._folder, current.end), current.end)
            self.segments.append(current)
        return current.append(frame, timestamp_ms)

    def sync(self, upto: int) -> None:
        """Make every record before `upto` durable and readable."""
        self.segments[-1].sync()
        self.synced = max(self.synced, upto)

    def read(self, offset: int, limit: int) -> list[tuple[int, bytes]]:
        """Synced frames' bodies from `offset` on (at most `limit`), with their offsets."""
        offset = max(offset, self.start)
        limit = min(limit, self.synced - offset)
        out: list[tuple[int, bytes]] = []
        for segment in self.segments:
            if len(out) >= limit:
                break
            if segment.end > offset:
                got = segment.read(max(offset, segment.base), limit - len(out))
                out += got
                if got:
                    offset = got[-1][0] + 1
        return out

    def drop_older(self, cutoff_ms: int, consumed: int) -> int:
        """Delete whole segments older than `cutoff_ms` that end at or before `consumed`."""
        dropped = 0
        while len(self.segments) > 1:
            oldest = self.segments[0]
            if oldest.newest_ms >= cutoff_ms or oldest.end > consumed:
                break
            oldest.close()
            oldest.path.unlink()
            self.segments.pop(0)
            dropped += 1
        return dropped

    def close(self) -> None:
        """Sync and release every file."""
        self.segments[-1].sync()
        for segment in self.segments:
            segment.close()
