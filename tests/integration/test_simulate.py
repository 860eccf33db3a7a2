"""`gridwatch simulate` publishing to the real Mosquitto, read back with mosquitto_sub."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gridwatch.settings import Settings
from tests.conftest import REPO

pytestmark = pytest.mark.integration


def simulate(run_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `gridwatch simulate ARGS` to its end with the run's settings."""
    return subprocess.run(
        [sys.executable, "-m", "gridwatch.cli", "simulate", *args],
        env={**os.environ, **run_env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_simulate_publishes_heartbeats_and_events_over_mqtt(
    settings: Settings, run_env: dict[str, str]
) -> None:
    mqtt = ["-h", settings.mqtt.host, "-p", str(settings.mqtt.port)]
    # Subscribe first, then publish for a few seconds; -C stops after that many messages.
    sub = subprocess.Popen(
        ["mosquitto_sub", *mqtt, "-q", "1", "-t", "gridwatch/v1/#", "-v", "-C", "40", "-W", "60"],
        stdout=subprocess.PIPE,
        text=True,
    )
    done = simulate(run_env, "--devices", "60", "--rate", "50", "--duration", "8", "--seed", "3")
    out, _ = sub.communicate(timeout=70)
    assert done.returncode == 0, done.stderr
    assert (
        "simulating 42 Sharp Eyes cameras, 11 Blue Sky fire cameras, 7 air stations" in done.stderr
    )
    topics = [line.split(" ", 1)[0] for line in out.splitlines()]
    assert len(topics) == 40
    assert any(t.endswith("/status") for t in topics)
    assert any(t.endswith("/events") for t in topics)
    assert all(t.startswith(("gridwatch/v1/sharp-eyes/", "gridwatch/v1/blue-sky/")) for t in topics)


def test_simulate_refuses_a_rate_of_zero_by_name(run_env: dict[str, str]) -> None:
    done = simulate(run_env, "--rate", "0")
    assert done.returncode == 2
    assert "argument --rate: must be above 0 (got 0)" in done.stderr
