"""Photos attached to reports and steps, by the reference they carry, to who may see them."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from api.access import worker_can_see
from api.deps import ConnDep, GridDep, PhotosDep, UrlUser, client_address
from api.errors import ApiError
from gridwatch.photos import PHOTO_TYPES
from gridwatch.store.photo_citations import incidents_citing
from gridwatch.store.users import record_audit

router = APIRouter(prefix="/v1/photos", tags=["photos"])


@router.get(
    "/{ref}",
    response_class=Response,
    summary="A stored photo",
    responses={200: {"content": {t: {} for t in PHOTO_TYPES}, "description": "The image."}},
)
async def read_photo(
    request: Request, conn: ConnDep, grid: GridDep, photos: PhotosDep, user: UrlUser, ref: str
) -> Response:
    """The image bytes with their content type; `ref` is photo:sha256:<hex>.

    Only for a caller who may see an incident citing the photo (as evidence or in a step); to
    anyone else it does not exist, so a reference found elsewhere tells nothing.
    """
    citing = await incidents_citing(conn, ref)
    visible = any(worker_can_see(user, c.cell_id, c.assignees, grid, kind=c.kind) for c in citing)
    found = await asyncio.to_thread(photos.get, ref) if visible else None
    if found is None:
        raise ApiError(404, "unknown_photo", f"no photo you may see has reference {ref!r}")
    data, content_type = found
    client = client_address(request)
    await record_audit(conn, actor=user.id, action="photo.read", target=ref, client=client)
    # no-store: the token may be in the address, which no cache may keep as a key; the worker
    # app's service worker keeps the bytes itself under the bare path (docs/auth.md).
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, no-store"})
