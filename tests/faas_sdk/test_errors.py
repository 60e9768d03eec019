"""Every error code of API.md becomes its typed error, through one table."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from faas_sdk import (
    AuthenticationError,
    ConflictError,
    ExecutionTimeoutError,
    FaaSClient,
    FaaSError,
    InsufficientResourcesError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
)
from faas_sdk._exceptions import error_from_envelope


def client_answering(response: httpx.Response) -> FaaSClient:
    return FaaSClient(
        api_key="k",
        endpoint="http://faas.test",
        transport=httpx.MockTransport(lambda _: response),
        max_retries=0,
    )


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "UNAUTHORIZED", AuthenticationError),
        (403, "FORBIDDEN", PermissionDeniedError),
        (404, "NOT_FOUND", NotFoundError),
        (429, "RATE_LIMIT_EXCEEDED", RateLimitError),
        (400, "INVALID_REQUEST", InvalidRequestError),
        (409, "CONFLICT", ConflictError),
        (408, "EXECUTION_TIMEOUT", ExecutionTimeoutError),
        (507, "INSUFFICIENT_RESOURCES", InsufficientResourcesError),
        (402, "PAYMENT_REQUIRED", PaymentRequiredError),
        (500, "INTERNAL_ERROR", InternalServerError),
    ],
)
def test_each_envelope_code_raises_its_class(status: int, code: str, kind: type[FaaSError]) -> None:
    envelope = {"error": {"code": code, "message": f"{code} happened", "details": {"x": 1}}}
    response = httpx.Response(status, json=envelope, headers={"X-Request-ID": "req_abc"})
    with client_answering(response) as client, pytest.raises(kind) as caught:
        client.get_execution("exec_1")
    error = caught.value
    assert isinstance(error, FaaSError)
    assert (error.code, error.message, error.details) == (code, f"{code} happened", {"x": 1})
    assert (error.status_code, error.request_id) == (status, "req_abc")
    assert code in str(error) and "req_abc" in str(error)


def test_a_rate_limit_error_says_when_to_come_back() -> None:
    envelope = {
        "error": {
            "code": "RATE_LIMIT_EXCEEDED",
            "message": "Rate limit exceeded. Please retry after 60 seconds.",
            "details": {"limit": 100, "remaining": 0, "reset_at": "2024-01-15T11:00:00Z"},
        }
    }
    error = error_from_envelope(429, envelope, headers={"Retry-After": "60"})
    assert isinstance(error, RateLimitError)
    assert (error.limit, error.remaining, error.retry_after) == (100, 0, 60.0)
    assert error.reset_at == datetime(2024, 1, 15, 11, 0, tzinfo=UTC)


def test_rate_limit_headers_fill_in_for_missing_details() -> None:
    headers = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1705316400"}
    error = error_from_envelope(
        429, {"error": {"code": "RATE_LIMIT_EXCEEDED", "message": "slow down"}}, headers=headers
    )
    assert isinstance(error, RateLimitError)
    assert (error.limit, error.remaining, error.retry_after) == (1000, 0, None)
    assert error.reset_at == datetime(2024, 1, 15, 11, 0, tzinfo=UTC)


def test_a_timeout_error_keeps_the_partial_output() -> None:
    details = {"execution_id": "exec_9", "status": "timeout", "stdout": "partial\n", "stderr": "warn\n"}
    error = error_from_envelope(
        408, {"error": {"code": "EXECUTION_TIMEOUT", "message": "too slow", "details": details}}
    )
    assert isinstance(error, ExecutionTimeoutError)
    assert (error.execution_id, error.stdout, error.stderr) == ("exec_9", "partial\n", "warn\n")


def test_answers_without_an_envelope_are_typed_by_status() -> None:
    gateway = error_from_envelope(502, None, text="<html>Bad Gateway</html>")
    assert isinstance(gateway, InternalServerError) and gateway.code == "INTERNAL_ERROR"
    assert "Bad Gateway" in gateway.message
    assert isinstance(error_from_envelope(404, None, text="nope"), NotFoundError)
    assert isinstance(error_from_envelope(409, None, text="conflict"), ConflictError)
    unknown = error_from_envelope(418, {"error": {"code": "TEAPOT", "message": "short and stout"}})
    assert type(unknown) is FaaSError and unknown.code == "TEAPOT"
    newer = error_from_envelope(503, {"error": {"code": "MAINTENANCE", "message": "back soon"}})
    assert isinstance(newer, InternalServerError) and newer.code == "MAINTENANCE"
