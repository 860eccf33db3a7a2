"""Web Push endpoints: only the browsers' push services, over https."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gridwatch.notify_settings import NotifySettings
from gridwatch.push_hosts import endpoint_allowed
from gridwatch.settings import Settings

DEFAULT = NotifySettings().push_hosts


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc:APA91b",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAA",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA",
        "https://web.push.apple.com/QGuQyavXutnMH",
        "https://api.push.apple.com/3/device/abc",
        "https://FCM.googleapis.com:443/fcm/send/x",
    ],
)
def test_the_browsers_push_services_are_allowed(endpoint: str) -> None:
    assert endpoint_allowed(endpoint, DEFAULT)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/x",  # not https
        "https://fcm.googleapis.com:8443/fcm/send/x",  # another port
        "https://evil.example/fcm.googleapis.com",
        "https://fcm.googleapis.com.evil.example/x",
        "https://fcm.googleapis.com@169.254.169.254/latest/meta-data",
        "https://notify.windows.com/x",  # the wildcard needs a host under the domain
        "https://evilnotify.windows.com/x",
        "https://127.0.0.1/x",
        "https://localhost:8000/v1/incidents",
        "https://fcm.googleapis.com:99999/x",  # no such port
        "https:///no-host",
    ],
)
def test_anything_else_is_refused(endpoint: str) -> None:
    assert not endpoint_allowed(endpoint, DEFAULT)


def test_an_origin_entry_allows_exactly_that_origin() -> None:
    local = ("http://127.0.0.1:8080",)
    assert endpoint_allowed("http://127.0.0.1:8080/push/1", local)
    assert not endpoint_allowed("http://127.0.0.1:8081/push/1", local)
    assert not endpoint_allowed("https://127.0.0.1:8080/push/1", local)
    assert not endpoint_allowed("http://127.0.0.1/push/1", local)


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDWATCH_NOTIFY__PUSH_HOSTS", '["Push.Example.org", "*.push.example"]')
    hosts = Settings().notify.push_hosts
    assert hosts == ("push.example.org", "*.push.example")
    assert endpoint_allowed("https://eu.push.example/x", hosts)


@pytest.mark.parametrize("entry", ["", "*", "*.", "push.*.example", "*push.example"])
def test_a_wildcard_is_only_a_leading_label(entry: str) -> None:
    with pytest.raises(ValidationError):
        NotifySettings(push_hosts=(entry,))
