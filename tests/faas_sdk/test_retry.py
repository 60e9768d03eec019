"""The retry policy as a user sees it: which calls are repeated, how often, after how long.

Each case runs against both clients (the sync one is generated from the async one).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from faas_sdk import (
    AsyncFaaSClient,
    FaaSClient,
    FaaSConnectionError,
    FaaSError,
    InternalServerError,
    InvalidRequestError,
    RateLimitError,
    RetryPolicy,
)
from tests.faas_sdk.test_protocol import EXECUTION

Reply = httpx.Response | Exception


class Script:
    """A fake server answering from a list, recording requests and the client's sleeps."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


async def call(
    kind: str, script: Script, method: str, *args: Any, arguments: dict[str, Any] | None = None, **options: Any
) -> Any:
    """``client.method(*args, **arguments)`` on a client built with ``options``."""
    arguments = arguments or {}
    transport = httpx.MockTransport(script.handle)
    if kind == "async":

        async def sleep(seconds: float) -> None:
            script.sleeps.append(seconds)

        async with AsyncFaaSClient(
            api_key="k", endpoint="http://faas.test", transport=transport, sleep=sleep, **options
        ) as aclient:
            return await getattr(aclient, method)(*args, **arguments)
    with FaaSClient(
        api_key="k", endpoint="http://faas.test", transport=transport, sleep=script.sleeps.append, **options
    ) as client:
        return getattr(client, method)(*args, **arguments)


def error(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": code, "details": {}}}, headers=headers)


def ok() -> httpx.Response:
    return httpx.Response(200, json=EXECUTION)


def connect_error() -> Exception:
    return httpx.ConnectError("connection refused")


def read_timeout() -> Exception:
    return httpx.ReadTimeout("timed out")


both = pytest.mark.parametrize("kind", ["async", "sync"])


@both
async def test_a_get_is_retried_on_5xx_with_growing_jittered_backoff(kind: str) -> None:
    script = Script(error(503, "INTERNAL_ERROR"), httpx.Response(502, text="bad gateway"), ok())
    result = await call(kind, script, "get_execution", "exec_1")
    assert result.execution_id == "exec_0123" and len(script.requests) == 3
    first, second = script.sleeps
    assert 0.25 <= first <= 0.5 and 0.5 <= second <= 1.0


@both
async def test_a_get_gives_up_after_max_retries(kind: str) -> None:
    script = Script(*[error(500, "INTERNAL_ERROR")] * 4)
    with pytest.raises(InternalServerError):
        await call(kind, script, "get_execution", "exec_1", max_retries=3)
    assert len(script.requests) == 4 and len(script.sleeps) == 3


@both
async def test_a_get_is_retried_after_a_read_timeout(kind: str) -> None:
    script = Script(read_timeout(), ok())
    await call(kind, script, "get_execution", "exec_1")
    assert len(script.requests) == 2


@both
@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_an_execution_is_never_re_posted_after_a_5xx(kind: str, status: int) -> None:
    script = Script(error(status, "INTERNAL_ERROR", {"Retry-After": "1"}), ok())
    with pytest.raises(InternalServerError):
        await call(kind, script, "execute", "print(1)", "python")
    assert len(script.requests) == 1 and script.sleeps == []


@both
async def test_an_execution_is_never_re_posted_after_a_read_timeout(kind: str) -> None:
    script = Script(read_timeout(), ok())
    with pytest.raises(FaaSConnectionError, match="may have acted on it anyway"):
        await call(kind, script, "execute", "print(1)", "python")
    assert len(script.requests) == 1


STATE_CHANGING_CALLS = [
    ("create_snapshot", (), {"instance_id": "inst_1"}),
    ("restore_snapshot", ("snap_1",), {}),
    ("delete_snapshot", ("snap_1",), {"force": True}),
    ("create_branch", (), {"snapshot_id": "snap_1"}),
    ("merge_branches", (["branch_1", "branch_2"],), {}),
]


@both
@pytest.mark.parametrize(("method", "args", "arguments"), STATE_CHANGING_CALLS)
@pytest.mark.parametrize("failure", [lambda: error(503, "INTERNAL_ERROR"), read_timeout])
async def test_snapshot_and_branch_changes_are_not_repeated_blindly(
    kind: str, method: str, args: tuple[Any, ...], arguments: dict[str, Any], failure: Callable[[], Reply]
) -> None:
    script = Script(failure(), ok())
    with pytest.raises(FaaSError):
        await call(kind, script, method, *args, arguments=arguments)
    assert len(script.requests) == 1 and script.sleeps == []


@both
@pytest.mark.parametrize(("method", "args", "arguments"), STATE_CHANGING_CALLS)
async def test_snapshot_and_branch_changes_are_repeated_when_refused_up_front(
    kind: str, method: str, args: tuple[Any, ...], arguments: dict[str, Any]
) -> None:
    script = Script(error(429, "RATE_LIMIT_EXCEEDED", {"Retry-After": "1"}), connect_error(), error(400, "X"))
    with pytest.raises(FaaSError, match="X"):
        await call(kind, script, method, *args, arguments=arguments)
    assert len(script.requests) == 3 and script.sleeps[0] == 1.0


@both
async def test_an_execution_is_retried_when_the_connection_failed_before_sending(kind: str) -> None:
    script = Script(connect_error(), ok())
    result = await call(kind, script, "execute", "print(1)", "python")
    assert result.stdout == "Hello World\n" and len(script.requests) == 2


@both
async def test_an_execution_refused_with_429_is_retried_after_retry_after(kind: str) -> None:
    script = Script(error(429, "RATE_LIMIT_EXCEEDED", {"Retry-After": "3"}), ok())
    await call(kind, script, "execute", "print(1)", "python")
    assert len(script.requests) == 2 and script.sleeps == [3.0]
    assert script.requests[0].content == script.requests[1].content


@both
async def test_retry_after_may_be_an_http_date(kind: str) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    script = Script(error(429, "RATE_LIMIT_EXCEEDED", {"Retry-After": when}), ok())
    await call(kind, script, "get_execution", "exec_1")
    assert len(script.sleeps) == 1 and 18 <= script.sleeps[0] <= 20


@both
async def test_a_retry_after_past_the_wait_cap_raises_at_once(kind: str) -> None:
    script = Script(error(429, "RATE_LIMIT_EXCEEDED", {"Retry-After": "120"}), ok())
    with pytest.raises(RateLimitError) as caught:
        await call(kind, script, "execute", "print(1)", "python")
    assert caught.value.retry_after == 120.0 and script.sleeps == [] and len(script.requests) == 1


@both
async def test_the_total_wait_is_capped(kind: str) -> None:
    script = Script(*[error(429, "RATE_LIMIT_EXCEEDED", {"Retry-After": "25"})] * 4)
    with pytest.raises(RateLimitError):
        await call(kind, script, "get_execution", "exec_1", retry_policy=RetryPolicy(max_retries=5, max_wait=60))
    assert script.sleeps == [25.0, 25.0] and len(script.requests) == 3


@both
@pytest.mark.parametrize(
    ("reply", "raised"),
    [
        (lambda: error(400, "INVALID_REQUEST"), InvalidRequestError),
        (lambda: error(404, "NOT_FOUND"), FaaSError),
        (lambda: error(429, "RATE_LIMIT_EXCEEDED"), RateLimitError),
    ],
)
async def test_no_retries_when_max_retries_is_zero_or_the_error_is_the_callers(
    kind: str, reply: Callable[[], httpx.Response], raised: type[FaaSError]
) -> None:
    script = Script(reply(), ok())
    with pytest.raises(raised):
        await call(kind, script, "get_execution", "exec_1", max_retries=0)
    assert len(script.requests) == 1 and script.sleeps == []


@both
async def test_client_errors_are_not_retried(kind: str) -> None:
    script = Script(error(400, "INVALID_REQUEST"), ok())
    with pytest.raises(InvalidRequestError):
        await call(kind, script, "get_execution", "exec_1")
    assert len(script.requests) == 1


@both
async def test_a_dead_server_raises_a_connection_error_after_the_retries(kind: str) -> None:
    script = Script(connect_error(), connect_error(), connect_error())
    with pytest.raises(FaaSConnectionError) as caught:
        await call(kind, script, "execute", "print(1)", "python")
    assert caught.value.status_code is None and caught.value.code == "CONNECTION_ERROR"
    assert isinstance(caught.value.__cause__, httpx.ConnectError) and len(script.requests) == 3
