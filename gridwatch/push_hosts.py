"""Which Web Push endpoints gridwatch POSTs to: the browsers' push services, nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

# The push services of Chrome and most Chromium browsers (FCM), Firefox (autopush), Edge
# (WNS, one host per region) and Safari (APNs); `*.` allows any host under the name.
BROWSER_PUSH_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.notify.windows.com",
    "web.push.apple.com",
    "*.push.apple.com",
)


def _host_matches(host: str, entry: str) -> bool:
    if entry.startswith("*."):
        return host.endswith(entry[1:])
    return host == entry


def endpoint_allowed(endpoint: str, allowed: Sequence[str]) -> bool:
    """Whether `endpoint` is on an allowed push service.

    A host entry (`fcm.googleapis.com`, `*.notify.windows.com`) allows https on port 443; an
    origin entry (`http://127.0.0.1:8080`) allows exactly that scheme, host and port.
    """
    parts = urlsplit(endpoint)
    try:
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname
    if host is None:
        return False
    for entry in allowed:
        if "://" in entry:
            origin = urlsplit(entry)
            if (parts.scheme, host, port) == (origin.scheme, origin.hostname, origin.port):
                return True
        elif parts.scheme == "https" and port in (None, 443) and _host_matches(host, entry):
            return True
    return False
