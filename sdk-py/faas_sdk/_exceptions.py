"""The SDK's errors, and the one table from the API's error codes to them.

FaaSError                         .code .message .details .status_code .request_id
├── AuthenticationError           UNAUTHORIZED (401)
├── PermissionDeniedError         FORBIDDEN (403)
├── NotFoundError                 NOT_FOUND (404)
├── InvalidRequestError           INVALID_REQUEST (400)
├── ConflictError                 CONFLICT (409)
├── RateLimitError                RATE_LIMIT_EXCEEDED (429)
├── ExecutionTimeoutError         EXECUTION_TIMEOUT (408)
├── InsufficientResourcesError    INSUFFICIENT_RESOURCES (507)
├── PaymentRequiredError          PAYMENT_REQUIRED (402)
├── InternalServerError           INTERNAL_ERROR (500) and other 5xx
└── FaaSConnectionError           the request or stream never got an answer
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any


class FaaSError(Exception):
    """Root of every error the SDK raises.

    Attributes:
        code: The API's error code (``"NOT_FOUND"``...), or ``"CONNECTION_ERROR"``.
        message: The server's explanation.
        details: The envelope's ``details`` object.
        status_code: The HTTP status, or None when there was no response.
        request_id: The server's ``X-Request-ID`` of the failed request, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "UNKNOWN_ERROR",
        details: dict[str, Any] | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, Any] = details or {}
        self.status_code = status_code
        self.request_id = request_id

    def __str__(self) -> str:
        where = f" (HTTP {self.status_code}" if self.status_code is not None else ""
        if where and self.request_id:
            where += f", request {self.request_id}"
        return f"{self.code}: {self.message}{where + ')' if where else ''}"


class AuthenticationError(FaaSError):
    """The API key is missing or unknown."""


class PermissionDeniedError(FaaSError):
    """The API key may not do this."""


class NotFoundError(FaaSError):
    """No such execution, instance, snapshot or branch (or endpoint) for this API key."""


class InvalidRequestError(FaaSError):
    """The server refused the request's parameters; ``details["errors"]`` lists them."""


class ConflictError(FaaSError):
    """The resource's state forbids the request; ``details`` says why.

    A stopped instance; a snapshot that branches or child snapshots still need
    (``details["branches"]``, ``details["children"]``: delete with ``force=True``);
    a corrupted snapshot; a three-way merge with conflicts (``details["conflicts"]``:
    paths and hunks; merge with ``strategy="ours"`` or ``"theirs"`` to settle them).
    """


class PaymentRequiredError(FaaSError):
    """The account's balance is too low."""


class InsufficientResourcesError(FaaSError):
    """The node cannot take the work now."""


class InternalServerError(FaaSError):
    """A failure on the server's side; quote ``request_id`` when reporting it."""


class FaaSConnectionError(FaaSError):
    """The server could not be reached, or the connection broke before an answer."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("code", "CONNECTION_ERROR")
        super().__init__(message, **kwargs)


class RateLimitError(FaaSError):
    """Too many requests.

    Attributes:
        reset_at: When the limit resets (from ``details.reset_at``, ``X-RateLimit-Reset``
            or ``Retry-After``; now when the server said nothing).
        retry_after: Seconds to wait, from ``Retry-After``, if the server sent it.
        limit: Requests allowed in the window, if known.
        remaining: Requests left in the window, if known.
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        headers = {name.lower(): value for name, value in (kwargs.get("headers") or {}).items()}
        now = datetime.now(UTC)
        self.retry_after: float | None = parse_retry_after(headers.get("retry-after"), now)
        self.limit = _int_or_none(self.details.get("limit", headers.get("x-ratelimit-limit")))
        self.remaining = _int_or_none(self.details.get("remaining", headers.get("x-ratelimit-remaining")))
        self.reset_at: datetime = (
            _parse_instant(self.details.get("reset_at"))
            or _parse_instant(headers.get("x-ratelimit-reset"))
            or now + timedelta(seconds=self.retry_after or 0)
        )


class ExecutionTimeoutError(FaaSError):
    """The program hit its time limit and was killed; its partial output is kept.

    Attributes:
        execution_id: The stored execution (fetch it with ``get_execution``).
        stdout: Output printed before the time limit.
        stderr: Errors printed before the time limit.
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.execution_id: str | None = self.details.get("execution_id")
        self.stdout: str = self.details.get("stdout") or ""
        self.stderr: str = self.details.get("stderr") or ""


ERROR_CODES: dict[str, type[FaaSError]] = {
    "UNAUTHORIZED": AuthenticationError,
    "FORBIDDEN": PermissionDeniedError,
    "NOT_FOUND": NotFoundError,
    "RATE_LIMIT_EXCEEDED": RateLimitError,
    "INVALID_REQUEST": InvalidRequestError,
    "CONFLICT": ConflictError,
    "EXECUTION_TIMEOUT": ExecutionTimeoutError,
    "INSUFFICIENT_RESOURCES": InsufficientResourcesError,
    "PAYMENT_REQUIRED": PaymentRequiredError,
    "INTERNAL_ERROR": InternalServerError,
}

# For answers without our envelope (a proxy's 502 page, a WebSocket handshake refusal).
STATUS_CODES: dict[int, str] = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    402: "PAYMENT_REQUIRED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    408: "EXECUTION_TIMEOUT",
    409: "CONFLICT",
    429: "RATE_LIMIT_EXCEEDED",
    507: "INSUFFICIENT_RESOURCES",
}


def error_from_envelope(
    status_code: int,
    body: object,
    *,
    headers: dict[str, str] | None = None,
    text: str = "",
) -> FaaSError:
    """The typed error for an error answer: its envelope's code, else its HTTP status."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        code: str = error["code"]
        message = str(error.get("message") or code)
        details = error.get("details") if isinstance(error.get("details"), dict) else {}
    else:
        code = STATUS_CODES.get(status_code, "INTERNAL_ERROR" if status_code >= 500 else "UNKNOWN_ERROR")
        message = text.strip()[:500] or f"HTTP {status_code}"
        details = {}
    kind = ERROR_CODES.get(code)
    if kind is None:
        fallback = ERROR_CODES.get(STATUS_CODES.get(status_code, ""), FaaSError)
        kind = InternalServerError if status_code >= 500 else fallback
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    return kind(
        message,
        code=code,
        details=details,
        status_code=status_code,
        request_id=lowered.get("x-request-id"),
        headers=lowered,
    )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _parse_instant(value: object) -> datetime | None:
    """An ISO 8601 instant or Unix seconds, as the rate-limit reset time."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _int_or_none(value: object) -> int | None:
    if isinstance(value, int | float | str):
        try:
            return int(value)
        except ValueError:
            return None
    return None
