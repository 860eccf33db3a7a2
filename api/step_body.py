"""The body of a step: the command's fields as JSON, or a multipart form with a photo file."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from api.deps import get_photos
from api.errors import ApiError
from api.uploads import MAX_PHOTO_BYTES, capped, media_type, store_photo

_FIELDS_MAX_BYTES = 64 * 1024
_MAX_FORM_FIELDS = 16
# Form fields that make up `gps` in the JSON form.
_GPS_FIELDS = ("lat", "lon", "accuracy_m")
# The OpenAPI request body: the command's fields, as JSON or as a form.
STEP_BODY_DOC = {
    "requestBody": {
        "required": False,
        "description": "The command's fields (docs/lifecycle.md); as a form, `photo` may be a "
        "file and the fix is flat: lat, lon, accuracy_m.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "multipart/form-data": {"schema": {"type": "object"}},
        },
    }
}


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "step_too_large", f"a step is at most {limit} bytes with its photo")


async def _read_form(request: Request) -> dict[str, Any]:
    """A multipart step: its fields, `lat`/`lon`/`accuracy_m` as `gps`, a file as `photo`."""
    limit = MAX_PHOTO_BYTES + _FIELDS_MAX_BYTES
    body: dict[str, Any] = {}
    gps: dict[str, Any] = {}
    async with capped(request, limit, _too_large(limit)).form(
        max_files=1, max_fields=_MAX_FORM_FIELDS
    ) as form:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name != "photo":
                    raise ApiError(422, "unexpected_file", f"{name}: only `photo` is a file")
                if not value.filename and not value.size:  # a form with no file chosen
                    continue
                data = await value.read(MAX_PHOTO_BYTES + 1)
                if len(data) > MAX_PHOTO_BYTES:
                    raise ApiError(
                        413, "photo_too_large", f"{name}: at most {MAX_PHOTO_BYTES} bytes"
                    )
                body[name] = await store_photo(data, get_photos(request))
            else:
                (gps if name in _GPS_FIELDS else body)[name] = value
    return body | ({"gps": gps} if gps else {})


async def read_step_body(request: Request) -> dict[str, Any]:
    """The command's fields from a JSON object (or no body at all) or a multipart form."""
    media = media_type(request)
    if media == "multipart/form-data":
        return await _read_form(request)
    raw = await capped(request, _FIELDS_MAX_BYTES, _too_large(_FIELDS_MAX_BYTES)).body()
    if not raw.strip():
        return {}
    if media != "application/json":
        msg = f"send application/json or multipart/form-data, not {media or 'nothing'}"
        raise ApiError(415, "unsupported_media_type", msg)
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(422, "invalid_json", f"body: not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_json", "body: send a JSON object of the command's fields")
    return body
