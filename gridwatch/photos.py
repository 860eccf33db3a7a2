"""Photos attached to reports: type sniffing and the filesystem adapter of `PhotoStore`."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path

# The image types a phone sends, with the file suffix each is stored under.
PHOTO_TYPES: dict[str, str] = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
REF_PREFIX = "photo:sha256:"
REF_PATTERN = r"^photo:sha256:[0-9a-f]{64}$"
_REF = re.compile(REF_PATTERN)


def sniff_image(data: bytes) -> str | None:
    """The content type the bytes really are (JPEG, PNG or WebP), or None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class FilesystemPhotoStore:
    """Photos as files named by the sha256 of their bytes, under `root/<2 hex>/`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, digest: str, content_type: str) -> Path:
        # Two-character fan-out keeps any one folder to a few thousand files per county-year.
        return self.root / digest[:2] / f"{digest}{PHOTO_TYPES[content_type]}"

    def put(self, data: bytes, content_type: str) -> str:
        """Write the photo once (temp file, fsync, rename) and return `photo:sha256:<hex>`."""
        if content_type not in PHOTO_TYPES:
            raise ValueError(f"unsupported photo type {content_type!r}")
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest, content_type)
        if path.exists():
            return REF_PREFIX + digest
        path.parent.mkdir(parents=True, exist_ok=True)
        # A reader sees the whole photo or none: the bytes reach the disk under a temporary
        # name first and only then take the final name, which a report may already cite.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)
        return REF_PREFIX + digest

    def get(self, ref: str) -> tuple[bytes, str] | None:
        """The photo of a reference, with its content type; None when unknown or malformed."""
        if not _REF.fullmatch(ref):
            return None
        digest = ref.removeprefix(REF_PREFIX)
        for content_type in PHOTO_TYPES:
            with contextlib.suppress(FileNotFoundError):
                return self._path(digest, content_type).read_bytes(), content_type
        return None


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk too.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
