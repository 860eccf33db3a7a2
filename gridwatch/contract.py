"""The published JSON Schema of the v1 event contract, generated from the pydantic models."""

from __future__ import annotations

from typing import Any

from gridwatch.events import DEVICE_EVENT

SCHEMA_ID = "https://gridwatch.example/schemas/event-contract-v1.json"


def contract_schema() -> dict[str, Any]:
    """A JSON Schema (2020-12) for one event published on the v1 MQTT topics."""
    body = DEVICE_EVENT.json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "gridwatch device event v1",
        "description": (
            "A CloudEvents 1.0 event in structured JSON mode, published with QoS 1 on "
            "gridwatch/v1/{source}/{device_id}/events where source is sharp-eyes or blue-sky. "
            "`id` is unique per device; a re-delivered event keeps its id. "
            "Generated from gridwatch.events by `gridwatch schema`."
        ),
        **body,
    }
