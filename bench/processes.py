"""The gridwatch processes a bench measures: started with their own settings, stopped at the end."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench.measurements import READY_TIMEOUT_S

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def running(
    args: Sequence[str], env: dict[str, str], log_path: Path, cwd: Path = REPO
) -> Iterator[subprocess.Popen[bytes]]:
    """`python <args>` with `env` over ours, its output in `log_path`; SIGTERM at the end."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, *args],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=READY_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def check_alive(proc: subprocess.Popen[bytes], log_path: Path, name: str) -> None:
    """Fail with the end of its log if the process (`name`, for the message) has exited."""
    if proc.poll() is not None:
        tail = "\n".join(log_path.read_text("utf-8", errors="replace").splitlines()[-20:])
        raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")
