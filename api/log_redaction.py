"""Access tokens never reach a log: a phone's WebSocket URL carries one in its query string."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

_TOKEN = re.compile(r"((?:access_|refresh_)?token=)[^&\s\"']+")


def redact(text: str) -> str:
    """The text with every `token=...` value replaced."""
    return _TOKEN.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """Rewrites a record's message and arguments before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record, with tokens taken out."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging setup with the redaction on each of its handlers."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": RedactTokens}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_tokens")
    return config
