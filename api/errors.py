"""One error shape for every failure: {"detail": [{"msg": ..., "code": ...}]}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    """A domain failure with an HTTP status, a code and a human message."""

    def __init__(
        self, status: int, code: str, msg: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg
        self.headers = headers


def _body(*errors: tuple[str, str]) -> dict[str, list[dict[str, str]]]:
    return {"detail": [{"msg": msg, "code": code} for msg, code in errors]}


def install_error_handlers(app: FastAPI) -> None:
    """Map domain, validation and routing errors onto the one shape."""

    async def on_api_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        body = _body((exc.msg, exc.code))
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            (f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}", f"invalid_{e['type']}")
            for e in exc.errors()
        ]
        return JSONResponse(_body(*errors), status_code=422)

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_body((str(exc.detail), code)), status_code=exc.status_code)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
