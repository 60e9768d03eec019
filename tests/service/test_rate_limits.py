"""Rate limits: pure decision logic, both back ends against the same behaviour, Redis across processes.

The Redis tests use the real server at ``FAAS_TEST_REDIS_URL`` (default 127.0.0.1:6379),
each under its own key prefix, deleted afterwards. The clock is injected, so windows
reset without sleeping.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from redis.exceptions import RedisError

from service.errors import InternalError, ServiceError
from service.rate_limits import (
    InProcessRateLimiter,
    RateLimitDecision,
    RateLimiter,
    RateLimitExceeded,
    RateLimits,
    RedisRateLimiter,
    TooManyConcurrentExecutions,
    Window,
    check,
    create_rate_limiter,
    decide,
    error_details,
    windows_of,
)

REDIS_URL = os.environ.get("FAAS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REPO = Path(__file__).resolve().parents[2]
HOUR0 = 1_699_999_200  # a whole hour (so also a whole minute), 2023-11-14T22:00:00Z


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(HOUR0 + 23)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A fresh key prefix in the real Redis; its keys are deleted afterwards."""
    with redis.Redis.from_url(REDIS_URL) as client:
        try:
            client.ping()
        except RedisError as error:
            pytest.fail(f"Redis is not reachable at {REDIS_URL} ({error}): start it (`make up`) before the tests")
        prefix = f"test:rl:{uuid.uuid4().hex}:"
        yield prefix
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture(params=["in_process", "redis"])
async def limiter(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[RateLimiter]:
    result: RateLimiter
    if request.param == "redis":
        result = RedisRateLimiter.from_url(REDIS_URL, prefix=request.getfixturevalue("redis_prefix"), now=clock)
    else:
        result = InProcessRateLimiter(now=clock)
    yield result
    await result.close()


# --- pure logic ----------------------------------------------------------------------


def test_windows_are_aligned_to_the_clock() -> None:
    minute, hour = windows_of(RateLimits())
    assert (minute.limit, hour.limit) == (100, 1000)
    assert minute.start(HOUR0 + 61.5) == HOUR0 + 60
    assert minute.reset(HOUR0 + 61.5) == HOUR0 + 120
    assert hour.reset(HOUR0 + 3599.9) == HOUR0 + 3600
    assert hour.reset(HOUR0 + 3600) == HOUR0 + 7200


def test_decide_reports_the_window_with_fewest_remaining() -> None:
    windows = (Window("minute", 60, 10), Window("hour", 3600, 100))
    decision = decide(windows, [3, 95], HOUR0 + 23, counted=True)
    assert decision == RateLimitDecision(True, 100, 4, at(HOUR0 + 3600), 0, "hour")
    assert decide(windows, [3, 50], HOUR0 + 23, counted=True).window == "minute"
    assert decide(windows, [3, 50], HOUR0 + 23, counted=False).remaining == 7


def test_decide_on_a_tie_reports_the_later_reset() -> None:
    windows = (Window("minute", 60, 10), Window("hour", 3600, 100))
    assert decide(windows, [5, 95], HOUR0, counted=False).window == "hour"


def test_refusal_waits_for_every_exceeded_window() -> None:
    windows = (Window("minute", 60, 10), Window("hour", 3600, 100))
    only_minute = decide(windows, [10, 50], HOUR0 + 23, counted=True)
    assert (only_minute.allowed, only_minute.window, only_minute.remaining) == (False, "minute", 0)
    assert only_minute.retry_after_s == 37
    both = decide(windows, [10, 100], HOUR0 + 23, counted=True)
    assert (both.window, both.limit, both.retry_after_s) == ("hour", 100, 3600 - 23)


def test_retry_after_is_at_least_one_second() -> None:
    decision = decide((Window("minute", 60, 1),), [1], HOUR0 + 59.9, counted=True)
    assert decision.retry_after_s == 1


def test_headers_render_reset_as_epoch_seconds_and_retry_after_only_when_refused() -> None:
    allowed = RateLimitDecision(True, 100, 99, at(HOUR0 + 60), 0, "minute")
    assert allowed.headers() == {
        "X-RateLimit-Limit": "100",
        "X-RateLimit-Remaining": "99",
        "X-RateLimit-Reset": str(HOUR0 + 60),
    }
    refused = RateLimitDecision(False, 100, 0, at(HOUR0 + 60), 37, "minute")
    assert refused.headers()["Retry-After"] == "37"


def test_exceeded_error_carries_message_details_and_decision() -> None:
    decision = RateLimitDecision(False, 100, 0, at(HOUR0 + 60), 37, "minute")
    with pytest.raises(RateLimitExceeded) as raised:
        check(decision)
    error = raised.value
    assert isinstance(error, ServiceError)
    assert error.message == "Rate limit exceeded: 100 requests per minute. Retry after 37 seconds."
    assert error.details == {"limit": 100, "remaining": 0, "reset_at": "2023-11-14T22:01:00Z"}
    assert error.decision is decision
    check(RateLimitDecision(True, 100, 5, at(HOUR0 + 60), 0))  # allowed: no error


def test_too_many_concurrent_executions_details() -> None:
    error = TooManyConcurrentExecutions(limit=10, active=10, now=HOUR0 + 0.5)
    assert isinstance(error, RateLimitExceeded)
    assert error.message.startswith("10 executions are already running for this key;")
    assert error.details == {"limit": 10, "remaining": 0, "reset_at": "2023-11-14T22:00:02Z", "active": 10}
    assert error.decision.headers()["Retry-After"] == "1"
    assert error_details(error.decision)["reset_at"] == "2023-11-14T22:00:02Z"


def test_negative_limits_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        RateLimits(per_minute=-1)


def test_factory_picks_the_back_end() -> None:
    assert isinstance(create_rate_limiter(None), InProcessRateLimiter)
    assert isinstance(create_rate_limiter(REDIS_URL, prefix="unused:"), RedisRateLimiter)


# --- request limits, both back ends --------------------------------------------------


async def test_allows_the_limit_then_refuses(limiter: RateLimiter, clock: FakeClock) -> None:
    limits = RateLimits(per_minute=5)
    decisions = [await limiter.hit("a", limits) for _ in range(5)]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0]
    assert all(d.allowed and d.limit == 5 and d.reset_at == at(HOUR0 + 60) for d in decisions)
    refused = await limiter.hit("a", limits)
    assert refused == RateLimitDecision(False, 5, 0, at(HOUR0 + 60), 37, "minute")
    with pytest.raises(RateLimitExceeded, match=r"5 requests per minute\. Retry after 37 seconds"):
        check(refused)
    clock.t = HOUR0 + 60  # the next minute
    assert (await limiter.hit("a", limits)).remaining == 4


async def test_refused_requests_do_not_consume(limiter: RateLimiter, clock: FakeClock) -> None:
    limits = RateLimits(per_minute=3, per_hour=6)
    assert [(await limiter.hit("a", limits)).allowed for _ in range(13)] == [True] * 3 + [False] * 10
    clock.t += 60
    # Had the 10 refusals counted in the hour window, nothing more would be allowed this hour.
    assert [(await limiter.hit("a", limits)).allowed for _ in range(4)] == [True] * 3 + [False]


async def test_hour_window_binds_when_minute_does_not(limiter: RateLimiter, clock: FakeClock) -> None:
    limits = RateLimits(per_minute=10, per_hour=12)
    for _ in range(10):
        await limiter.hit("a", limits)
    clock.t = HOUR0 + 90
    first = await limiter.hit("a", limits)
    assert (first.window, first.limit, first.remaining, first.reset_at) == ("hour", 12, 1, at(HOUR0 + 3600))
    assert (await limiter.hit("a", limits)).remaining == 0
    refused = await limiter.hit("a", limits)
    assert (refused.allowed, refused.window, refused.limit) == (False, "hour", 12)
    assert refused.retry_after_s == 3600 - 90


async def test_keys_are_isolated_and_have_their_own_limits(limiter: RateLimiter) -> None:
    strict, default = RateLimits(per_minute=2), RateLimits()
    assert [(await limiter.hit("a", strict)).allowed for _ in range(3)] == [True, True, False]
    b = await limiter.hit("b", default)
    assert (b.allowed, b.limit, b.remaining) == (True, 100, 99)


async def test_peek_does_not_count(limiter: RateLimiter) -> None:
    limits = RateLimits(per_minute=2)
    for _ in range(3):
        fresh = await limiter.peek("a", limits)
        assert (fresh.allowed, fresh.remaining) == (True, 2)
    await limiter.hit("a", limits)
    assert (await limiter.peek("a", limits)).remaining == 1
    await limiter.hit("a", limits)
    full = await limiter.peek("a", limits)
    assert (full.allowed, full.remaining, full.retry_after_s) == (False, 0, 37)


async def test_decisions_render_headers(limiter: RateLimiter) -> None:
    limits = RateLimits(per_minute=1)
    assert (await limiter.hit("a", limits)).headers() == {
        "X-RateLimit-Limit": "1",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(HOUR0 + 60),
    }
    assert (await limiter.hit("a", limits)).headers()["Retry-After"] == "37"


# --- concurrent executions, both back ends -------------------------------------------


async def test_slots_run_out_then_free_up(limiter: RateLimiter) -> None:
    limits = RateLimits(concurrent_executions=2)
    async with AsyncExitStack() as stack:
        for _ in range(2):
            await stack.enter_async_context(limiter.execution_slot("a", limits))
        assert await limiter.active_executions("a") == 2
        with pytest.raises(TooManyConcurrentExecutions) as raised:
            await stack.enter_async_context(limiter.execution_slot("a", limits))
        assert (raised.value.limit, raised.value.active, raised.value.details["remaining"]) == (2, 2, 0)
        async with limiter.execution_slot("b", limits):  # another key's slots are its own
            assert await limiter.active_executions("b") == 1
    assert await limiter.active_executions("a") == 0
    async with limiter.execution_slot("a", limits):
        pass


async def test_slot_is_released_on_exception(limiter: RateLimiter) -> None:
    limits = RateLimits(concurrent_executions=1)
    with pytest.raises(RuntimeError, match="boom"):
        async with limiter.execution_slot("a", limits):
            raise RuntimeError("boom")
    assert await limiter.active_executions("a") == 0
    async with limiter.execution_slot("a", limits):
        pass


async def test_slot_is_released_on_cancellation(limiter: RateLimiter) -> None:
    limits = RateLimits(concurrent_executions=1)
    holding = asyncio.Event()

    async def execute() -> None:
        async with limiter.execution_slot("a", limits):
            holding.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(execute())
    await holding.wait()
    with pytest.raises(TooManyConcurrentExecutions):
        async with limiter.execution_slot("a", limits):
            pass
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await limiter.active_executions("a") == 0
    async with limiter.execution_slot("a", limits):
        pass


# --- Redis only ----------------------------------------------------------------------


async def test_redis_lease_of_a_silent_holder_expires(redis_prefix: str, clock: FakeClock) -> None:
    limits = RateLimits(concurrent_executions=1)
    holder = RedisRateLimiter.from_url(REDIS_URL, prefix=redis_prefix, now=clock, slot_lease_s=10)
    other = RedisRateLimiter.from_url(REDIS_URL, prefix=redis_prefix, now=clock, slot_lease_s=10)
    try:
        async with holder.execution_slot("a", limits):
            clock.t += 10.5  # the holder never got to renew: its lease ran out
            assert await other.active_executions("a") == 0
            async with other.execution_slot("a", limits):
                assert await holder.active_executions("a") == 1
            # The holder's late release must not free the other's slot.
            async with other.execution_slot("a", limits):
                pass
    finally:
        await holder.close()
        await other.close()


HOLD_A_SLOT = """
import asyncio, sys
from service.rate_limits import RateLimits, RedisRateLimiter

async def main() -> None:
    limiter = RedisRateLimiter.from_url(sys.argv[1], prefix=sys.argv[2], slot_lease_s=0.3)
    async with limiter.execution_slot("a", RateLimits(concurrent_executions=1)):
        print("held", flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_redis_slot_of_a_killed_process_expires_with_its_lease(redis_prefix: str) -> None:
    limits = RateLimits(concurrent_executions=1)
    limiter = RedisRateLimiter.from_url(REDIS_URL, prefix=redis_prefix)
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_A_SLOT, REDIS_URL, redis_prefix, cwd=REPO, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 10) == b"held\n"
        await asyncio.sleep(0.6)  # twice the lease: renewal keeps the slot
        with pytest.raises(TooManyConcurrentExecutions):
            async with limiter.execution_slot("a", limits):
                pass
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
        deadline = time.monotonic() + 2
        while await limiter.active_executions("a"):
            assert time.monotonic() < deadline, "the dead holder's slot was never freed"
            await asyncio.sleep(0.05)
        async with limiter.execution_slot("a", limits):
            pass
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
        await limiter.close()


HAMMER = """
import asyncio, sys
from service.rate_limits import RateLimits, RedisRateLimiter

async def main() -> None:
    frozen = float(sys.argv[3])
    limiter = RedisRateLimiter.from_url(sys.argv[1], prefix=sys.argv[2], now=lambda: frozen)
    limits = RateLimits(per_minute=40)
    await limiter.peek("shared", limits)  # connected before the start signal
    print("ready", flush=True)
    sys.stdin.readline()
    decisions = await asyncio.gather(*(limiter.hit("shared", limits) for _ in range(30)))
    print(sum(d.allowed for d in decisions), flush=True)
    await limiter.close()

asyncio.run(main())
"""


async def test_redis_limit_is_shared_by_processes(redis_prefix: str) -> None:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            HAMMER,
            REDIS_URL,
            redis_prefix,
            str(HOUR0 + 23),
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert await asyncio.wait_for(process.stdout.readline(), 10) == b"ready\n"
        for process in processes:  # start both at once
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        outputs = [await asyncio.wait_for(process.communicate(), 10) for process in processes]
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    allowed = [int(stdout) for stdout, _ in outputs]
    assert sum(allowed) == 40, allowed


async def test_unreachable_redis_is_an_internal_error() -> None:
    limiter = RedisRateLimiter.from_url("redis://:secret@127.0.0.1:1/0")
    try:
        for attempt in (limiter.hit, limiter.peek):
            with pytest.raises(InternalError, match=r"cannot reach Redis at 127\.0\.0\.1:1/0") as raised:
                await attempt("a", RateLimits())
            assert "secret" not in raised.value.message
        with pytest.raises(InternalError, match="Rate limiting is unavailable"):
            async with limiter.execution_slot("a", RateLimits()):
                pass
    finally:
        await limiter.close()
