"""Tokens are taken out of log lines before any handler sees them."""

from __future__ import annotations

import logging

from api.log_redaction import RedactTokens, redact, uvicorn_log_config


def test_every_token_value_in_a_query_string_is_redacted() -> None:
    line = '127.0.0.1:5 - "WebSocket /v1/ws?token=eyJhbGc.x.y&since=4" [accepted]'
    assert redact(line) == '127.0.0.1:5 - "WebSocket /v1/ws?token=[redacted]&since=4" [accepted]'
    assert redact("refresh_token=abc access_token=def") == (
        "refresh_token=[redacted] access_token=[redacted]"
    )
    assert redact("no secrets here") == "no secrets here"


def test_the_filter_rewrites_message_and_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s"',
        ("ip", "/v1/ws?token=t1"),
        None,
    )
    assert RedactTokens().filter(record)
    assert record.getMessage() == 'ip - "WebSocket /v1/ws?token=[redacted]"'


def test_uvicorns_handlers_all_redact() -> None:
    config = uvicorn_log_config()
    assert config["handlers"] and all(
        "redact_tokens" in h["filters"] for h in config["handlers"].values()
    )
