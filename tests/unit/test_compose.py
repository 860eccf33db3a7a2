"""deploy/compose.yaml: valid YAML whose services, commands, files and secrets hold together."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gridwatch.cli import COMMANDS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    return doc


def gridwatch_services(compose: dict[str, Any]) -> dict[str, Any]:
    return {n: s for n, s in compose["services"].items() if s.get("image") == "gridwatch:local"}


def test_every_part_of_the_distributed_mode_runs(compose: dict[str, Any]) -> None:
    commands = sorted(s["command"][0] for s in gridwatch_services(compose).values())
    assert set(commands) == {"migrate", "bridge", "streams", "alerts", "dispatch", "api"}
    assert all(c in COMMANDS for c in commands)
    assert {"mosquitto", "kafka", "postgres"} <= set(compose["services"])


def test_dependencies_and_files_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for needed in service.get("depends_on", []):
            assert needed in services, f"{name} depends on unknown {needed}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
    for service in gridwatch_services(compose).values():
        build = service["build"]
        # The context is relative to the compose file's folder, the Dockerfile to the context.
        assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()


def test_each_bridge_keeps_a_session_of_its_own(compose: dict[str, Any]) -> None:
    bridges = [s for s in gridwatch_services(compose).values() if s["command"] == ["bridge"]]
    ids = [b["environment"]["GRIDWATCH_MQTT__CLIENT_ID"] for b in bridges]
    assert len(bridges) == 2 and len(set(ids)) == 2


def test_no_secret_is_written_in_the_file_and_only_loopback_is_published(
    compose: dict[str, Any],
) -> None:
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET", key):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), f"{name}.{key}"
        for published in service.get("ports", []):
            assert str(published).startswith("127.0.0.1:"), f"{name} publishes {published}"
