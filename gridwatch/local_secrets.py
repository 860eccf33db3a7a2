"""Secrets generated once on this machine, kept under the run folder (git-ignored), mode 0600."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def local_secret(run_dir: Path, name: str, *, nbytes: int = 48) -> str:
    """The secret in <run_dir>/secrets/<name>, generated on first use."""
    path = run_dir / "secrets" / name
    if path.exists():
        return path.read_text("ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(nbytes)
    # O_EXCL: of two processes starting at once one writes, the other reads what it wrote.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text("ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(value + "\n")
    return value
