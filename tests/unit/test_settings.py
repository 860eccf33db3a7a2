"""Settings come from GRIDWATCH_* variables, nested with '__'."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gridwatch.settings import Settings

REPO = Path(__file__).parents[2]


def test_defaults_are_the_conventional_loopback_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("GRIDWATCH_")]:
        monkeypatch.delenv(name)
    s = Settings()
    assert (s.mqtt.port, s.kafka.port, s.api.port) == (1883, 9092, 8000)
    assert s.kafka.bootstrap == "127.0.0.1:9092"
    assert s.kafka.topic("events") == "gridwatch.events"


def test_nested_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDWATCH_KAFKA__PORT", "19092")
    monkeypatch.setenv("GRIDWATCH_KAFKA__TOPIC_PREFIX", "t1")
    monkeypatch.setenv("GRIDWATCH_POSTGRES__PASSWORD", "s3cret")
    s = Settings()
    assert s.kafka.bootstrap == "127.0.0.1:19092"
    assert s.kafka.topic("incidents") == "t1.incidents"
    assert "password=s3cret" in s.postgres.conninfo()
    assert "s3cret" not in repr(s)


def test_unknown_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDWATCH_KAFKA__PROT", "1")
    with pytest.raises(ValidationError, match=r"(?i)prot"):
        Settings()


def test_every_variable_the_scripts_read_is_a_setting() -> None:
    # Settings refuse unknown GRIDWATCH_* variables, so one that only a script knows would
    # stop every process of a shell that sets it.
    names = set()
    for script in (REPO / "deploy").glob("*"):
        if script.is_file():
            names |= set(re.findall(r"GRIDWATCH_[A-Z0-9_]+", script.read_text("utf-8")))
    assert "GRIDWATCH_KAFKA__CONTROLLER_PORT" in names
    for name in sorted(names):
        node: Any = Settings
        for part in name.removeprefix("GRIDWATCH_").lower().split("__"):
            assert part in node.model_fields, f"{name} is not a setting"
            node = node.model_fields[part].annotation
