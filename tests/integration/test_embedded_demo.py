"""`gridwatch run --demo` on its bundled PostgreSQL: the README's Run command after the install.

No Kafka, no Mosquitto and no database server of ours: the process starts the bundled server in
its run folder, loads the sample roster with its demo accounts, simulates the county's devices,
and dispatches what they raise to people.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gridwatch.cli import DEMO_OPERATOR
from gridwatch.settings import Settings
from tests.conftest import REPO, Proc, environ, free_port, isolated_env, wait_until
from tests.integration.platform import PIPELINE_TIMEOUT, wait_for_api

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo_dir() -> Iterator[Path]:
    """A run folder the bundled server's own user may enter (pytest's folders are root's only)."""
    folder = Path(tempfile.mkdtemp(prefix="gridwatch-demo-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def demo_env(demo_dir: Path) -> dict[str, str]:
    """Ports and run folder of its own; the bundled store, whatever the run's database is."""
    return isolated_env(demo_dir) | {
        "GRIDWATCH_MQTT__PORT": str(free_port()),
        "GRIDWATCH_POSTGRES__BUNDLED": "true",
    }


@pytest.fixture(scope="module")
def demo(demo_env: dict[str, str]) -> Settings:
    with environ(demo_env):
        return Settings()


def start(demo: Settings, demo_env: dict[str, str], procs: Callable[..., Proc], cmd: str) -> Proc:
    proc = procs(cmd, demo_env)
    wait_for_api(demo, [proc])
    return proc


def operator_queue(demo: Settings, demo_dir: Path) -> list[dict[str, Any]]:
    """The open incidents the demo's operator sees, signed in with the demo password."""
    password = (demo_dir / "secrets" / "demo-password").read_text().strip()
    with httpx.Client(base_url=f"http://{demo.api.host}:{demo.api.port}", timeout=30) as api:
        answer = api.post("/v1/auth/token", data={"username": DEMO_OPERATOR, "password": password})
        assert answer.status_code == 200, answer.text
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        items: list[dict[str, Any]] = api.get("/v1/cells/queue", headers=headers).json()["items"]
        return items


def server_running(demo_dir: Path) -> bool:
    """Whether the bundled PostgreSQL of the run folder is up (its pid file is there)."""
    return (demo_dir / "pgdata" / "postmaster.pid").exists()


def test_the_demo_dispatches_on_its_own_store_and_keeps_it_across_a_sigkill(
    demo: Settings, demo_env: dict[str, str], demo_dir: Path, procs: Callable[..., Proc]
) -> None:
    running = start(demo, demo_env, procs, "run --demo --devices 60")
    ready = httpx.get(f"http://{demo.api.host}:{demo.api.port}/readyz").json()["checks"]
    assert sorted(ready) == ["grid", "log", "mqtt", "postgres"]
    assert all(check["ok"] for check in ready.values()), ready

    # The demo opens with a fall seconds in: it reaches a person of the sample roster.
    dispatched = wait_until(
        lambda: [i for i in operator_queue(demo, demo_dir) if i["assignees"]],
        timeout=PIPELINE_TIMEOUT,
        what="an incident of the demo dispatched to someone",
    )

    # Another command reaches the same store while the demo runs, and leaves it running.
    listed = subprocess.run(
        [sys.executable, "-m", "gridwatch.cli", "users", "list"],
        env=running.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert f"{DEMO_OPERATOR}\toperator" in listed.stdout
    assert server_running(demo_dir)

    running.kill()
    assert server_running(demo_dir)  # a SIGKILL leaves the server; the next start joins it
    restarted = start(demo, demo_env, procs, "run")
    ids = {i["incident_id"] for i in operator_queue(demo, demo_dir)}
    assert dispatched[0]["incident_id"] in ids

    restarted.stop()
    assert restarted.popen is not None and restarted.popen.returncode == 0, restarted.tail()
    assert not server_running(demo_dir)  # the last process using it stopped it
