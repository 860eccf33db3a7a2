"""Reasons for refusing a message, in words an integrator can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from gridwatch.events import EVENT_TYPES
from gridwatch.records import RejectCode

_SHOWN_ERRORS = 3


@dataclass(frozen=True)
class Rejection:
    """Why a message was refused."""

    code: RejectCode
    reason: str


def _path(loc: tuple[int | str, ...]) -> str:
    # Drop the union tag pydantic inserts (e.g. 'blue-sky.fire') so paths read data.confidence.
    return ".".join(str(p) for p in loc if str(p) not in EVENT_TYPES) or "payload"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def explain(exc: ValidationError) -> Rejection:
    """Map pydantic's errors onto one rejection code and a reason that names the fields."""
    errors = exc.errors(include_url=False)
    kinds = {e["type"] for e in errors}
    first = errors[0]
    if "json_invalid" in kinds:
        return Rejection("not_json", f"payload is not valid JSON: {first['ctx'].get('error', '')}")
    if first["type"] in ("dict_type", "model_type", "model_attributes_type") and not first["loc"]:
        return Rejection("not_object", "payload must be a JSON object (a CloudEvent)")
    if "union_tag_not_found" in kinds:
        return Rejection("missing_field", "'type' is required")
    if "union_tag_invalid" in kinds:
        got = next(e for e in errors if e["type"] == "union_tag_invalid")["input"]
        return Rejection(
            "unknown_type",
            f"unknown event type {_shown(got.get('type') if isinstance(got, dict) else got)}; "
            f"expected one of {', '.join(EVENT_TYPES)}",
        )
    missing = [_path(e["loc"]) for e in errors if e["type"] == "missing"]
    if missing and len(missing) == len(errors):
        return Rejection("missing_field", f"required field(s) missing: {', '.join(missing)}")
    shown = "; ".join(
        f"{_path(e['loc'])}: {e['msg']}"
        + ("" if e["type"] in ("missing", "extra_forbidden") else f" (got {_shown(e['input'])})")
        for e in errors[:_SHOWN_ERRORS]
    )
    more = f" (and {len(errors) - _SHOWN_ERRORS} more)" if len(errors) > _SHOWN_ERRORS else ""
    return Rejection("invalid_field", shown + more)
