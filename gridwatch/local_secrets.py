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
    # Written whole under a name of this process's own, then linked into place: of two
    # processes starting at once one wins, and the other never reads a half-written file.
    spare = path.with_name(f".{name}.{os.getpid()}.tmp")
    fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_urlsafe(nbytes) + "\n")
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(spare, path)
    except FileExistsError:
        pass
    finally:
        spare.unlink()
    return path.read_text("ascii").strip()
