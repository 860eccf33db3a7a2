"""A device's health on the console: online unless an open no-signal flag still holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gridwatch.device_health import SAID_OFFLINE, WENT_SILENT, health_of

T = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_a_device_no_flag_names_is_online() -> None:
    assert health_of(flag=None, flagged_at=None, last_time=T, last_received_at=T) == "online"


def test_a_flag_with_nothing_since_is_silent_or_offline_by_its_kind() -> None:
    silent = health_of(flag=WENT_SILENT, flagged_at=T, last_time=T, last_received_at=T + MINUTE)
    offline = health_of(flag=SAID_OFFLINE, flagged_at=T, last_time=T, last_received_at=T)
    assert (silent, offline) == ("silent", "offline")


def test_a_newer_event_than_the_flag_means_the_device_is_back() -> None:
    # Silence is judged on the device's own clock: its last data's event time.
    back = health_of(flag=WENT_SILENT, flagged_at=T, last_time=T + MINUTE, last_received_at=T)
    # "offline" is stamped by the tracker's clock: compare with the arrival.
    reconnected = health_of(
        flag=SAID_OFFLINE, flagged_at=T, last_time=T - MINUTE, last_received_at=T + MINUTE
    )
    assert (back, reconnected) == ("online", "online")


def test_a_flagged_device_with_no_event_kept_stays_flagged() -> None:
    assert health_of(flag=WENT_SILENT, flagged_at=T, last_time=None, last_received_at=None) == (
        "silent"
    )
