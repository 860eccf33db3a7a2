"""Where a device message goes on the log: the bridge's and the embedded broker's one rule."""

from __future__ import annotations

import json

from gridwatch.settings import KafkaSettings
from ingest.routing import Router
from tests.support import T0, event, payload, small_grid

ROUTER = Router(KafkaSettings(), small_grid(), rejected_by="bridge-test")


def test_an_event_goes_to_events_keyed_by_its_cell() -> None:
    topic = "gridwatch/v1/blue-sky/cam-0042/events"
    record = ROUTER.route(topic, payload(event(lon=114.32, lat=35.92)), received_at=T0)
    assert (record.topic, record.key, record.device, record.rejection) == (
        "gridwatch.events",
        b"west",
        "cam-0042",
        None,
    )
    assert json.loads(record.value)["cell_id"] == "west"


def test_a_status_goes_to_the_county_stage() -> None:
    record = ROUTER.route("gridwatch/v1/sharp-eyes/cam-7/status", b"offline", received_at=T0)
    assert (record.topic, record.device, record.rejection) == ("gridwatch.findings", "cam-7", None)
    assert (
        record.key
        == ROUTER.route("gridwatch/v1/sharp-eyes/cam-8/status", b"online", received_at=T0).key
    )


def test_a_bad_message_is_a_dead_letter_naming_why() -> None:
    record = ROUTER.route("gridwatch/v1/blue-sky/cam-9/events", b"{not json", received_at=T0)
    assert (record.topic, record.key, record.device) == ("gridwatch.deadletter", b"cam-9", "cam-9")
    assert record.rejection is not None and record.rejection.code == "not_json"
    letter = json.loads(record.value)
    assert (letter["code"], letter["rejected_by"]) == ("not_json", "bridge-test")
