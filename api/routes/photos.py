"""Photos attached to reports, by the reference the report carries."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from api.deps import PhotosDep
from api.errors import ApiError
from gridwatch.photos import PHOTO_TYPES

router = APIRouter(prefix="/v1/photos", tags=["photos"])


@router.get(
    "/{ref}",
    response_class=Response,
    summary="A stored photo",
    responses={200: {"content": {t: {} for t in PHOTO_TYPES}, "description": "The image."}},
)
async def read_photo(photos: PhotosDep, ref: str) -> Response:
    """The image bytes with their content type; `ref` is photo:sha256:<hex>."""
    found = await asyncio.to_thread(photos.get, ref)
    if found is None:
        raise ApiError(404, "unknown_photo", f"no photo has reference {ref!r}")
    data, content_type = found
    # The reference names the bytes, so they never change: phones on a weak signal fetch once.
    headers = {"Cache-Control": "private, max-age=31536000, immutable"}
    return Response(data, media_type=content_type, headers=headers)
