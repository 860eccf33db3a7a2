"""Reports filed by people: validated, placed in their grid cell, put on the event stream."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from psycopg_pool import AsyncConnectionPool
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.deps import (
    GridDep,
    PhotosDep,
    PoolDep,
    Reporter,
    ReporterDep,
    SettingsDep,
    SinkDep,
    client_address,
)
from api.errors import ApiError
from api.publish import publish_or_503
from api.schemas import ReportCreate, ReportRead
from api.uploads import MAX_PHOTO_BYTES, media_type, store_photo
from api.uploads import capped as capped_body
from gridwatch.geo.crs import to_wgs84
from gridwatch.ports import PhotoStore
from gridwatch.records import ReportFiled
from gridwatch.store.users import record_audit

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/reports", tags=["reports"])

# Room for the text fields and the multipart framing; a JSON report (2000 characters of note
# at most) stays far below it.
FIELDS_MAX_BYTES = 64 * 1024
_PHOTO_DOC = f"JPEG, PNG or WebP, at most {MAX_PHOTO_BYTES >> 20} MiB; or a stored photo's ref."
# Form field names that make up `location` in the JSON form.
_LOCATION_FIELDS = ("lat", "lon", "crs")
# A form with a file input is multipart; a plain HTML form without one is urlencoded.
# Beyond the six fields, a few unknown ones get a 422 naming them; a flood, a 400.
_MAX_FORM_FIELDS = 16
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "report_too_large", f"a report is at most {limit} bytes with its photo")


def _validated(doc: str | bytes | dict[str, Any], *, form: bool) -> ReportCreate:
    """The report, or 422 naming each bad field as the client sent it."""
    try:
        if isinstance(doc, dict):
            return ReportCreate.model_validate(doc)
        return ReportCreate.model_validate_json(doc)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            loc = error["loc"]
            # A form sends location flat (lat, lon, crs): name the field it really sent.
            if form and loc[:1] == ("location",) and len(loc) > 1:
                loc = loc[1:]
            errors.append({**error, "loc": ("body", *loc)})
        raise RequestValidationError(errors) from None


async def _read_form(request: Request) -> tuple[ReportCreate, bytes | None]:
    limit = MAX_PHOTO_BYTES + FIELDS_MAX_BYTES
    capped = capped_body(request, limit, _too_large(limit))
    async with capped.form(max_files=1, max_fields=_MAX_FORM_FIELDS) as form:
        doc: dict[str, Any] = {}
        location: dict[str, Any] = {}
        upload: UploadFile | None = None
        for name, value in form.multi_items():
            if name == "photo" and isinstance(value, UploadFile):
                upload = value
            else:
                (location if name in _LOCATION_FIELDS else doc)[name] = value
        report = _validated({**doc, "location": location}, form=True)
        # A browser form with no file chosen still sends an empty, unnamed file part.
        if upload is None or (not upload.filename and not upload.size):
            return report, None
        if report.photo is not None:
            raise ApiError(422, "two_photos", "photo: send a file or a reference, not both")
        data = await upload.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise ApiError(413, "photo_too_large", f"photo: at most {MAX_PHOTO_BYTES} bytes")
    return report, data


async def _read_report(request: Request) -> tuple[ReportCreate, bytes | None]:
    """The report and the bytes of its photo file, from JSON or a form."""
    media = media_type(request)
    if media == "application/json":
        body = capped_body(request, FIELDS_MAX_BYTES, _too_large(FIELDS_MAX_BYTES))
        return _validated(await body.body(), form=False), None
    if media in _FORM_TYPES:
        return await _read_form(request)
    raise ApiError(
        415,
        "unsupported_media_type",
        f"send application/json or a form ({', '.join(_FORM_TYPES)}), not {media or 'nothing'}",
    )


async def _photo_ref(report: ReportCreate, data: bytes | None, photos: PhotoStore) -> str | None:
    """Store an uploaded photo, or check that a referenced one exists."""
    if data is not None:
        return await store_photo(data, photos)
    if report.photo is not None and await asyncio.to_thread(photos.get, report.photo) is None:
        raise ApiError(422, "unknown_photo", f"photo: no photo has reference {report.photo!r}")
    return report.photo


async def _audit(
    request: Request,
    pool: AsyncConnectionPool,
    reporter: Reporter,
    record: ReportFiled,
    *,
    unconfirmed: bool = False,
) -> None:
    """The report's audit line, on a connection held only for the insert.

    A database that fails here is logged, not answered: the report is on the log already,
    with who filed it, and an error would make the phone file it a second time.
    """
    detail: dict[str, Any] = {
        "report_id": record.report_id,
        "cell_id": record.cell_id,
        "category": record.category,
        "role": reporter.role,
    }
    try:
        async with pool.connection() as conn:
            await record_audit(
                conn,
                actor=reporter.account,
                action="report.file",
                target=f"report:{record.report_id}",
                detail=detail | ({"unconfirmed": True} if unconfirmed else {}),
                client=client_address(request),
            )
    except psycopg.Error as exc:
        log.error("report %s filed, but its audit line was not written: %s", record.report_id, exc)


def _request_body() -> dict[str, Any]:
    """The OpenAPI request body: the JSON model, and the same fields flat as a form."""
    raw = ReportCreate.model_json_schema()
    schema = _inline(raw, raw.pop("$defs", {}))
    fields = dict(schema["properties"])
    location = fields.pop("location")
    photo = {"type": "string", "format": "binary", "description": _PHOTO_DOC}
    form = {
        "type": "object",
        "required": ["category", "note", "lat", "lon"],
        "properties": {**fields, **location["properties"], "photo": photo},
    }
    content = {"application/json": {"schema": schema}} | {t: {"schema": form} for t in _FORM_TYPES}
    return {"requestBody": {"required": True, "content": content}}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """`node` with each `$ref` replaced by the schema it names (the body is not a component)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {key: _inline(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(value, defs) for value in node]
    return node


@router.post(
    "",
    status_code=201,
    response_model=ReportRead,
    summary="File a report (JSON, or a multipart form with a photo)",
    openapi_extra=_request_body(),
)
async def file_report(
    request: Request,
    response: Response,
    grid: GridDep,
    sink: SinkDep,
    photos: PhotosDep,
    reporter: ReporterDep,
    settings: SettingsDep,
    pool: PoolDep,
) -> ReportRead:
    """Place the report in its cell and answer once Kafka has it; it becomes an incident."""
    report, data = await _read_report(request)
    where = report.location
    lon, lat = to_wgs84(where.lon, where.lat, where.crs)
    cell = grid.locate(lon, lat)
    if cell is None:
        msg = f"location: no grid cell holds lat={where.lat}, lon={where.lon} ({where.crs})"
        raise ApiError(422, "outside_grid", msg)
    record = ReportFiled(
        report_id=uuid.uuid4().hex,
        cell_id=cell.id,
        category=report.category,
        note=report.note,
        lon=lon,
        lat=lat,
        photo=await _photo_ref(report, data, photos),
        reporter=reporter.account,
        reporter_role=reporter.role,
        filed_at=datetime.now(UTC),
    )
    value = record.model_dump_json(by_alias=True).encode()
    topic = settings.kafka.topic("events")
    # No connection is held while Kafka is awaited (up to ACK_TIMEOUT_S): anyone may file,
    # and a slow log must not drain the pool. The line follows the ack, so it records reports
    # the log has, plus those whose ack timed out, which may still arrive.
    try:
        await publish_or_503(sink, topic, cell.id.encode(), value, what="report")
    except ApiError as exc:
        if exc.code == "event_log_timeout":
            await _audit(request, pool, reporter, record, unconfirmed=True)
        raise
    await _audit(request, pool, reporter, record)
    log.info("report %s filed, cell_id=%s, %s", record.report_id, cell.id, record.category)
    return ReportRead(
        report_id=record.report_id,
        cell_id=record.cell_id,
        category=report.category,
        photo=record.photo,
        filed_at=record.filed_at,
    )
