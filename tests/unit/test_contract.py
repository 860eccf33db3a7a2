"""The published contract: the DESIGN example parses and the schema file is current."""

from __future__ import annotations

import json
from pathlib import Path

from gridwatch.contract import contract_schema
from gridwatch.events import DEVICE_EVENT, EVENT_TYPES, FireEvent

SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "event-contract-v1.schema.json"

DESIGN_EXAMPLE = b"""{"specversion": "1.0", "id": "cam-0042-000187",
 "source": "urn:gridwatch:device:cam-0042", "type": "blue-sky.smoke",
 "time": "2026-11-28T09:14:03+08:00", "datacontenttype": "application/json",
 "data": {"confidence": 0.91, "location": {"lat": 35.92, "lon": 114.36, "crs": "wgs84"},
 "snapshot": null}}"""


def test_design_example_parses() -> None:
    ev = DEVICE_EVENT.validate_json(DESIGN_EXAMPLE)
    assert ev.device_id == "cam-0042"
    assert ev.source_kind == "blue-sky"
    assert ev.time.utcoffset() is not None


def test_committed_schema_matches_the_models() -> None:
    assert json.loads(SCHEMA_FILE.read_text("utf-8")) == contract_schema(), (
        "docs/event-contract-v1.schema.json is stale: run `gridwatch schema "
        "docs/event-contract-v1.schema.json`"
    )


def test_schema_names_every_event_type() -> None:
    text = json.dumps(contract_schema())
    for type_ in EVENT_TYPES:
        assert f'"{type_}"' in text


def test_events_are_frozen() -> None:
    ev = DEVICE_EVENT.validate_json(DESIGN_EXAMPLE.replace(b"blue-sky.smoke", b"blue-sky.fire"))
    assert isinstance(ev, FireEvent)
    assert ev.model_config.get("frozen") is True
