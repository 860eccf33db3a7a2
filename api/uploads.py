"""Request bodies that may carry a photo: a cap on the bytes read, and storing the photo."""

from __future__ import annotations

import asyncio

from fastapi import Request
from starlette.types import Message

from api.errors import ApiError
from gridwatch.photos import sniff_image
from gridwatch.ports import PhotoStore

MAX_PHOTO_BYTES = 8 * 1024 * 1024


def capped(request: Request, limit: int, refusal: ApiError) -> Request:
    """The request with a body that raises `refusal` past `limit` bytes, declared or not."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise refusal
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise refusal
        return message

    return Request(request.scope, receive)


async def store_photo(data: bytes, photos: PhotoStore) -> str:
    """Keep an uploaded photo and return its reference; 415 unless JPEG, PNG or WebP."""
    content_type = sniff_image(data)
    if content_type is None:
        raise ApiError(415, "unsupported_photo", "photo: not a JPEG, PNG or WebP image")
    return await asyncio.to_thread(photos.put, data, content_type)


def media_type(request: Request) -> str:
    """The request's media type, lower case, without parameters."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()
