"""Per-API-key rate limits: requests per minute and per hour, and concurrent executions.

Algorithm: **fixed windows aligned to the clock** (a minute window starts at :00 seconds,
an hour window at :00:00 UTC). A request is counted in both windows, and only if both are
under their limit, so a refused request consumes nothing. Fixed windows give every
response an exact ``X-RateLimit-Reset`` (when the count really drops to zero, as in the
API spec's ``reset_at: 11:00:00Z``), cost one counter per window, and make the Redis
check-and-increment a tiny atomic script. The price is that a client can send up to twice
a limit across a window boundary (100 at 10:00:59, 100 at 10:01:00); the hour window
still caps that.

Concurrent executions are counted by slots held with ``async with execution_slot(...)``.
In Redis a slot is a lease (a sorted set of slot ids scored by lease end) renewed while
held, so a slot held by a process that dies frees itself when its lease runs out.

Two back ends share the decision logic (pure functions below): ``InProcessRateLimiter``
for one API process, ``RedisRateLimiter`` when several processes must share one limit.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from redis.asyncio import Redis

from service._redis_limits import RedisLimitStore, connect, describe_url
from service.errors import InternalError, ServiceError

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
"""Unix time in seconds, like ``time.time``; injectable so tests need not sleep."""


@dataclass(frozen=True)
class RateLimits:
    """Limits of one API key (the API spec's defaults)."""

    per_minute: int = 100
    per_hour: int = 1000
    concurrent_executions: int = 10

    def __post_init__(self) -> None:
        if min(self.per_minute, self.per_hour, self.concurrent_executions) < 0:
            raise ValueError(f"rate limits cannot be negative: {self}")


@dataclass(frozen=True)
class RateLimitDecision:
    """Outcome of one check, about the binding window (the one closest to refusing)."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: datetime
    retry_after_s: int
    window: str = "minute"
    """Which limit this is about: ``"minute"``, ``"hour"`` or ``"concurrent"``."""

    def headers(self) -> dict[str, str]:
        """``X-RateLimit-*`` headers (Reset in unix seconds), and ``Retry-After`` when refused."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at.timestamp())),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_s)
        return headers


class RateLimitExceeded(ServiceError):
    """A request over a limit (429 ``RATE_LIMIT_EXCEEDED``); ``.decision.headers()`` go on the response."""

    code = "RATE_LIMIT_EXCEEDED"

    def __init__(self, decision: RateLimitDecision, *, message: str | None = None) -> None:
        super().__init__(message or exceeded_message(decision), details=error_details(decision))
        self.decision = decision


class TooManyConcurrentExecutions(RateLimitExceeded):
    """All of a key's concurrent-execution slots are taken."""

    def __init__(self, *, limit: int, active: int, now: float | None = None) -> None:
        at = time.time() if now is None else now
        decision = RateLimitDecision(
            allowed=False,
            limit=limit,
            remaining=0,
            reset_at=_utc(math.ceil(at + 1)),
            retry_after_s=1,
            window="concurrent",
        )
        message = (
            f"{_count(active, 'execution')} {'is' if active == 1 else 'are'} already running for this key; "
            f"the limit is {limit}. Retry when one finishes."
        )
        super().__init__(decision, message=message)
        self.details["active"] = active
        self.limit = limit
        self.active = active


def check(decision: RateLimitDecision) -> None:
    """Raise ``RateLimitExceeded`` if the decision refused the request."""
    if not decision.allowed:
        raise RateLimitExceeded(decision)


# --- pure decision logic -------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One fixed, clock-aligned window with its limit."""

    name: str
    seconds: int
    limit: int

    def start(self, now: float) -> int:
        return int(now // self.seconds) * self.seconds

    def reset(self, now: float) -> int:
        return self.start(now) + self.seconds


def windows_of(limits: RateLimits) -> tuple[Window, ...]:
    return (Window("minute", 60, limits.per_minute), Window("hour", 3600, limits.per_hour))


def decide(windows: Sequence[Window], counts: Sequence[int], now: float, *, counted: bool) -> RateLimitDecision:
    """Decision for a request given each window's count *before* it.

    ``counted`` says whether an allowed request was counted (``hit``) or not (``peek``);
    a refused request never is.
    """
    exceeded = [w for w, count in zip(windows, counts, strict=True) if count >= w.limit]
    if exceeded:
        # Retrying can only succeed once every exceeded window has reset.
        window = max(exceeded, key=lambda w: w.reset(now))
        retry_after = max(1, math.ceil(window.reset(now) - now))
        return _decision(window, now, allowed=False, remaining=0, retry_after_s=retry_after)
    left = [(w.limit - count - int(counted), -w.reset(now), w) for w, count in zip(windows, counts, strict=True)]
    remaining, _, window = min(left, key=lambda item: item[:2])  # ties: the later-resetting window
    return _decision(window, now, allowed=True, remaining=remaining, retry_after_s=0)


def _decision(window: Window, now: float, *, allowed: bool, remaining: int, retry_after_s: int) -> RateLimitDecision:
    return RateLimitDecision(
        allowed=allowed,
        limit=window.limit,
        remaining=remaining,
        reset_at=_utc(window.reset(now)),
        retry_after_s=retry_after_s,
        window=window.name,
    )


def exceeded_message(decision: RateLimitDecision) -> str:
    return (
        f"Rate limit exceeded: {_count(decision.limit, 'request')} per {decision.window}. "
        f"Retry after {_count(decision.retry_after_s, 'second')}."
    )


def error_details(decision: RateLimitDecision) -> dict[str, Any]:
    """The error envelope's ``details``: limit, remaining and ``reset_at`` as ISO 8601 UTC."""
    reset_at = decision.reset_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"limit": decision.limit, "remaining": decision.remaining, "reset_at": reset_at}


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --- back ends -----------------------------------------------------------------------


class RateLimiter(Protocol):
    """What the API needs from a back end; both below implement it."""

    async def hit(self, key_id: str, limits: RateLimits) -> RateLimitDecision:
        """Count one request in the minute and hour windows, unless that would exceed either.

        ``key_id`` is a stable identifier of the key (not the secret: Redis keys are visible).
        """
        ...

    async def peek(self, key_id: str, limits: RateLimits) -> RateLimitDecision:
        """The decision a request would get now, without counting one."""
        ...

    def execution_slot(self, key_id: str, limits: RateLimits) -> AbstractAsyncContextManager[None]:
        """Hold one concurrent-execution slot for the body; raises ``TooManyConcurrentExecutions``
        at once (no waiting) when all are taken. Always released, also on error or cancellation."""
        ...

    async def active_executions(self, key_id: str) -> int:
        """Slots the key holds now."""
        ...

    async def close(self) -> None: ...


class InProcessRateLimiter:
    """Limits kept in this process's memory: for a single API process.

    Asyncio-safe because no check-then-update spans an ``await``; not thread-safe.
    """

    def __init__(self, *, now: Clock = time.time) -> None:
        self._now = now
        self._counts: dict[str, dict[str, tuple[int, int]]] = {}  # key -> window -> (start, count)
        self._active: dict[str, int] = {}

    async def hit(self, key_id: str, limits: RateLimits) -> RateLimitDecision:
        return self._check(key_id, limits, consume=True)

    async def peek(self, key_id: str, limits: RateLimits) -> RateLimitDecision:
        return self._check(key_id, limits, consume=False)

    def _check(self, key_id: str, limits: RateLimits, *, consume: bool) -> RateLimitDecision:
        now, windows = self._now(), windows_of(limits)
        state = self._counts.get(key_id, {})
        counts = [_count_in(state.get(w.name), w, now) for w in windows]
        decision = decide(windows, counts, now, counted=consume)
        if consume and decision.allowed:
            self._counts[key_id] = {w.name: (w.start(now), count + 1) for w, count in zip(windows, counts, strict=True)}
        return decision

    @asynccontextmanager
    async def execution_slot(self, key_id: str, limits: RateLimits) -> AsyncIterator[None]:
        active = self._active.get(key_id, 0)
        if active >= limits.concurrent_executions:
            raise TooManyConcurrentExecutions(limit=limits.concurrent_executions, active=active, now=self._now())
        self._active[key_id] = active + 1
        try:
            yield
        finally:
            self._active[key_id] -= 1
            if not self._active[key_id]:
                del self._active[key_id]

    async def active_executions(self, key_id: str) -> int:
        return self._active.get(key_id, 0)

    async def close(self) -> None:
        self._counts.clear()


def _count_in(state: tuple[int, int] | None, window: Window, now: float) -> int:
    """The stored count if it belongs to the window current at ``now``, else 0."""
    if state is None or state[0] != window.start(now):
        return 0
    return state[1]


class RedisRateLimiter:
    """Limits kept in Redis, shared by every API process that uses the same prefix.

    Counting is one atomic Lua script per request. An execution slot is a lease of
    ``slot_lease_s`` renewed every third of it while held; a holder that dies stops
    renewing and its slot is pruned by the next acquire after the lease runs out.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "faas:rl:",
        now: Clock = time.time,
        slot_lease_s: float = 30.0,
        where: str = "redis",
    ) -> None:
        self._store = RedisLimitStore(client, prefix=prefix, where=where)
        self._now = now
        self._lease_s = slot_lease_s
        self._releases: set[asyncio.Task[None]] = set()

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "faas:rl:", now: Clock = time.time, slot_lease_s: float = 30.0
    ) -> RedisRateLimiter:
        return cls(connect(url), prefix=prefix, now=now, slot_lease_s=slot_lease_s, where=describe_url(url))

    async def hit(self, key_id: str, limits: RateLimits) -> RateLimitDecision:
        return await self._check(key_id, limits, consume=True)

    async def peek(self, key_id: str, limits: RateLimits) -> RateLimitDecision:
        return await self._check(key_id, limits, consume=False)

    async def _check(self, key_id: str, limits: RateLimits, *, consume: bool) -> RateLimitDecision:
        now, windows = self._now(), windows_of(limits)
        spans = [(w.name, w.start(now), w.limit, w.reset(now) - now) for w in windows]
        counts = await self._store.count(key_id, spans, consume=consume)
        return decide(windows, counts, now, counted=consume)

    @asynccontextmanager
    async def execution_slot(self, key_id: str, limits: RateLimits) -> AsyncIterator[None]:
        slot_id, limit = uuid.uuid4().hex, limits.concurrent_executions
        taken, active = await self._store.acquire_slot(
            key_id, slot_id, limit=limit, now_ms=self._now_ms(), lease_ms=self._lease_ms()
        )
        if not taken:
            raise TooManyConcurrentExecutions(limit=limit, active=active, now=self._now())
        renewer = asyncio.create_task(self._keep_leased(key_id, slot_id))
        try:
            yield
        finally:
            # Shielded so a second cancellation cannot skip the release; kept referenced until done.
            release = asyncio.create_task(self._release(key_id, slot_id, renewer))
            self._releases.add(release)
            release.add_done_callback(self._releases.discard)
            await asyncio.shield(release)

    async def _keep_leased(self, key_id: str, slot_id: str) -> None:
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                renewed = await self._store.renew_slot(
                    key_id, slot_id, now_ms=self._now_ms(), lease_ms=self._lease_ms()
                )
            except InternalError as error:  # Redis is down: keep trying, the execution goes on
                logger.warning("could not renew an execution slot of key %s: %s", key_id, error.message)
                continue
            if not renewed:
                logger.warning("an execution slot of key %s lapsed before renewal; it no longer counts", key_id)
                return

    async def _release(self, key_id: str, slot_id: str, renewer: asyncio.Task[None]) -> None:
        renewer.cancel()
        await asyncio.wait([renewer])
        try:
            await self._store.release_slot(key_id, slot_id)
        except InternalError as error:  # the lease will expire on its own
            logger.warning("could not release an execution slot of key %s: %s", key_id, error.message)

    async def active_executions(self, key_id: str) -> int:
        return await self._store.active_slots(key_id, now_ms=self._now_ms())

    async def close(self) -> None:
        if self._releases:
            await asyncio.wait(self._releases)
        await self._store.close()

    def _now_ms(self) -> int:
        return int(self._now() * 1000)

    def _lease_ms(self) -> int:
        return math.ceil(self._lease_s * 1000)


def create_rate_limiter(redis_url: str | None, *, prefix: str = "faas:rl:", now: Clock = time.time) -> RateLimiter:
    """The Redis back end when ``redis_url`` is set (``FAAS_REDIS_URL``), else the in-process one."""
    if redis_url:
        return RedisRateLimiter.from_url(redis_url, prefix=prefix, now=now)
    return InProcessRateLimiter(now=now)
