"""Errors are JSON with a clear message; bad input is a 4xx, never a 500."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.logs import event

log = logging.getLogger("plantroom.api")

# a driver message may quote a connection string; never echo a password
_SECRETS = re.compile(r"(password\s*=\s*)\S+|(://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)


def db_unavailable(err: DBAPIError) -> str:
    """One clean line for a lost records DB: the driver's message, credentials removed."""
    lines = str(err.orig if err.orig is not None else err).strip().splitlines()
    text = lines[0] if lines else type(err).__name__
    return _SECRETS.sub(
        lambda m: (m.group(1) or m.group(2)) + "***" + ("@" if m.group(2) else ""), text
    )


def is_disconnect(err: DBAPIError) -> bool:
    """The records DB is unreachable (down, restarting, connection cut), not a bad query."""
    return isinstance(err, OperationalError) or err.connection_invalidated


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, /, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        self.status = status
        self.message = message
        self.headers = headers
        self.extra = extra


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def bad_request(message: str) -> ApiError:
    return ApiError(422, message)


def conflict(message: str, **extra: Any) -> ApiError:
    return ApiError(409, message, **extra)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, err: ApiError) -> JSONResponse:
        return JSONResponse(
            {"error": err.message, **err.extra}, status_code=err.status, headers=err.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, err: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()]
        return JSONResponse(
            {"error": "invalid request: " + "; ".join(problems), "problems": problems},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, err: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(err.detail)}, status_code=err.status_code, headers=err.headers
        )

    @app.exception_handler(DBAPIError)
    async def _records_down(_request: Request, err: DBAPIError) -> JSONResponse:
        if not is_disconnect(err):
            raise err  # a real bug: let it be a logged 500
        message = f"records database unavailable: {db_unavailable(err)}"
        event(log, "request failed", logging.WARNING, what="records-db", error=message)
        # the pool reconnects on the next request (pre-ping); clients may retry shortly
        return JSONResponse({"error": message}, status_code=503, headers={"Retry-After": "5"})
