"""The error envelope of API.md, and the one table from errors to codes."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import (
    Conflict,
    ExecutionTimedOut,
    Forbidden,
    InsufficientResources,
    InternalError,
    InvalidRequest,
    NotFound,
    PaymentRequired,
    ServiceError,
    Unauthorized,
)
from service.rate_limits import RateLimitExceeded

log = logging.getLogger(__name__)

ERROR_TABLE: dict[type[ServiceError], tuple[int, str]] = {
    kind: (status, kind.code)
    for kind, status in (
        (InvalidRequest, 400),
        (Unauthorized, 401),
        (PaymentRequired, 402),
        (Forbidden, 403),
        (NotFound, 404),
        (Conflict, 409),
        (ExecutionTimedOut, 408),
        (InternalError, 500),
        (InsufficientResources, 507),
        (RateLimitExceeded, 429),
    )
}
"""Each service error's HTTP status; its code is the error class's own ``code``."""

HTTP_STATUS_CODES = {status: code for status, code in ERROR_TABLE.values()}
"""For framework errors that carry only a status."""


def envelope(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    response = JSONResponse(
        status_code=status, content={"error": {"code": code, "message": message, "details": details or {}}}
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def body_too_large(received: int, limit: int) -> JSONResponse:
    return envelope(
        400,
        "INVALID_REQUEST",
        f"request body of {received}+ bytes is larger than the {limit} allowed",
        {"max_bytes": limit},
    )


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "unknown"))


def status_and_code(exc: ServiceError) -> tuple[int, str]:
    """The HTTP status and error code of a service error (its nearest class in the table)."""
    return next((ERROR_TABLE[kind] for kind in type(exc).__mro__ if kind in ERROR_TABLE), (500, "INTERNAL_ERROR"))


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    status, code = status_and_code(exc)
    if status >= 500:
        log.error("request %s failed: %s", _request_id(request), exc.message)
        exc.details.setdefault("request_id", _request_id(request))
    response = envelope(status, code, exc.message, exc.details)
    if isinstance(exc, RateLimitExceeded):
        response.headers.update(exc.decision.headers())
    return response


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path")]
    return ".".join(parts) or "body"


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field_name(tuple(error["loc"])), "message": error["msg"]} for error in exc.errors()]
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    message = f"{first['field']}: {first['message']}"
    if first["message"].startswith("JSON decode error"):
        message = "the request body is not valid JSON"
    return envelope(400, "INVALID_REQUEST", message, {"errors": errors})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    too_large = getattr(request.state, "body_too_large", None)
    if too_large is not None:
        return body_too_large(too_large, request.app.state.node.settings.max_request_bytes)
    if exc.status_code == 404:
        return envelope(404, "NOT_FOUND", "no such endpoint; see /docs for the API")
    if exc.status_code == 405:
        response = envelope(400, "INVALID_REQUEST", "this method is not allowed on this endpoint")
        if exc.headers and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    code = HTTP_STATUS_CODES.get(exc.status_code, "INTERNAL_ERROR" if exc.status_code >= 500 else "INVALID_REQUEST")
    return envelope(exc.status_code, code, str(exc.detail))


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    request_id = _request_id(request)
    log.exception("request %s failed unexpectedly", request_id, exc_info=exc)
    return envelope(500, "INTERNAL_ERROR", f"internal error; quote request id {request_id}", {"request_id": request_id})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
