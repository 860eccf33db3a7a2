"""Photos attached to reports, by the reference the report carries."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from api.deps import ConnDep, OptionalUser, PhotosDep, client_address
from api.errors import ApiError
from gridwatch.photos import PHOTO_TYPES
from gridwatch.store.users import record_audit

router = APIRouter(prefix="/v1/photos", tags=["photos"])


@router.get(
    "/{ref}",
    response_class=Response,
    summary="A stored photo",
    responses={200: {"content": {t: {} for t in PHOTO_TYPES}, "description": "The image."}},
)
async def read_photo(
    request: Request, conn: ConnDep, photos: PhotosDep, user: OptionalUser, ref: str
) -> Response:
    """The image bytes with their content type; `ref` is photo:sha256:<hex>."""
    found = await asyncio.to_thread(photos.get, ref)
    if found is None:
        raise ApiError(404, "unknown_photo", f"no photo has reference {ref!r}")
    data, content_type = found
    actor = user.id if user is not None else "anonymous"
    client = client_address(request)
    await record_audit(conn, actor=actor, action="photo.read", target=ref, client=client)
    # The reference names the bytes, so they never change: phones on a weak signal fetch once.
    headers = {"Cache-Control": "private, max-age=31536000, immutable"}
    return Response(data, media_type=content_type, headers=headers)
