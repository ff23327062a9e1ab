"""Every error answers JSON `{"code": <status>, "message": "..."}`: OpenMetadata's SDK needs `code`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from headwater.identity.fqn import FqnError
from headwater.store import StoreError

log = logging.getLogger("headwater.api")


class ApiError(Exception):
    """An error with an HTTP status and a message that tells the caller what to fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def limit_exceeded(what: str, count: int, limit: int, setting: str) -> ApiError:
    """413 naming the limit that was hit and the setting that raises it."""
    return ApiError(
        413,
        f"Too many {what}: {count} (the limit is {limit}); split the request, or raise the limit with "
        f"the {setting} environment variable of the server",
    )


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": status, "message": message, **extra})


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:10]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        msg = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            return f"Invalid JSON in request body: {err.get('ctx', {}).get('error', msg)}"
        parts.append(f"{loc or 'body'}: {msg}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message)

    @app.exception_handler(StoreError)
    async def _store_error(_: Request, exc: StoreError) -> JSONResponse:
        return error_response(exc.status, str(exc))

    @app.exception_handler(FqnError)
    async def _fqn_error(_: Request, exc: FqnError) -> JSONResponse:
        return error_response(400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = "No such endpoint; see /docs for the API"
        if exc.status_code == 405:
            message = "Method not allowed on this endpoint; see /docs for the API"
        return error_response(exc.status_code, message)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return error_response(500, f"Internal error ({type(exc).__name__}); see the server log")
