"""One partition's records on disk: checksummed frames in segment files named by base offset."""

from __future__ import annotations

import os
import struct
import zlib
from array import array
from dataclasses import dataclass
from pathlib import Path

# frame = body length, CRC-32 of the body, body; body = timestamp (ms), key length, key, value.
_FRAME = struct.Struct(">II")
_BODY = struct.Struct(">qI")
SUFFIX = ".seg"


@dataclass(frozen=True)
class LogRecord:
    """A record read back, with the attribute names of kafka-python's ConsumerRecord."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes
    value: bytes


def encode(key: bytes, value: bytes, timestamp_ms: int) -> bytes:
    """The frame of one record."""
    body = _BODY.pack(timestamp_ms, len(key)) + key + value
    return _FRAME.pack(len(body), zlib.crc32(body)) + body


def decode(frame_body: bytes) -> tuple[int, bytes, bytes]:
    """Timestamp, key and value of a frame's body."""
    timestamp, key_len = _BODY.unpack_from(frame_body)
    start = _BODY.size
    return timestamp, frame_body[start : start + key_len], frame_body[start + key_len :]


class Segment:
    """One file of a partition: the records from `base` on, and where each starts."""

    def __init__(self, path: Path, base: int) -> None:
        self.path = path
        self.base = base
        self.positions = array("Q")
        self.newest_ms = 0
        self.size = 0
        self._file = path.open("a+b")

    @classmethod
    def open(cls, path: Path) -> Segment:
        """Read an existing file; a torn frame at its end (a crash mid-write) is cut off."""
        segment = cls(path, int(path.stem))
        data = path.read_bytes()
        pos = 0
        while pos + _FRAME.size <= len(data):
            length, crc = _FRAME.unpack_from(data, pos)
            body = data[pos + _FRAME.size : pos + _FRAME.size + length]
            if len(body) < length or zlib.crc32(body) != crc:
                break
            segment.positions.append(pos)
            segment.newest_ms = max(segment.newest_ms, _BODY.unpack_from(body)[0])
            pos += _FRAME.size + length
        if pos < len(data):
            os.truncate(path, pos)
        segment.size = pos
        return segment

    @property
    def end(self) -> int:
        """The offset the next record appended here gets."""
        return self.base + len(self.positions)

    def append(self, frame: bytes, timestamp_ms: int) -> int:
        """Write one frame (not yet synced); its offset."""
        self._file.write(frame)
        self.positions.append(self.size)
        self.size += len(frame)
        self.newest_ms = max(self.newest_ms, timestamp_ms)
        return self.end - 1

    def sync(self) -> None:
        """Make what was appended durable."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def read(self, offset: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to `limit` frames' bodies from `offset` on, with their offsets."""
        first = offset - self.base
        last = min(first + limit, len(self.positions))
        if first >= last:
            return []
        self._file.flush()
        start = self.positions[first]
        stop = self.positions[last] if last < len(self.positions) else self.size
        data = os.pread(self._file.fileno(), stop - start, start)
        out, pos = [], 0
        for n in range(first, last):
            length = _FRAME.unpack_from(data, pos)[0]
            out.append((self.base + n, data[pos + _FRAME.size : pos + _FRAME.size + length]))
            pos += _FRAME.size + length
        return out

    def close(self) -> None:
        """Release the file."""
        self._file.close()


def segment_path(folder: Path, base: int) -> Path:
    """Where the segment starting at `base` lives: the offset zero-padded, so names sort."""
    return folder / f"{base:020d}{SUFFIX}"
