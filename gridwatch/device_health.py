"""A device's health as the console shows it, from its newest event and the no-signal rule."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

Health = Literal["online", "silent", "offline"]
# Evidence types the no-signal rule (streams/health.py) attaches: the device said `offline`
# on its status topic, or it stopped sending (its last located data).
SAID_OFFLINE = "device.status"
WENT_SILENT = "device.seen"


def health_of(
    *,
    flag: str | None,
    flagged_at: datetime | None,
    last_time: datetime | None,
    last_received_at: datetime | None,
) -> Health:
    """`online` unless an open no-signal incident names the device and nothing came since.

    `flag` is the type of the device's newest evidence on an open no-signal incident and
    `flagged_at` its time: for a silent device the event time of its last data (device
    clock), for one that said offline the tracker's clock when it said so. A newer event
    means it is back before the streams' next tick has cleared the incident.
    """
    if flag is None or flagged_at is None:
        return "online"
    if flag == SAID_OFFLINE:
        back = last_received_at is not None and last_received_at > flagged_at
        return "online" if back else "offline"
    back = last_time is not None and last_time > flagged_at
    return "online" if back else "silent"
