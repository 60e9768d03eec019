"""Raw Redis layer of the rate limiter: key layout, Lua scripts and the one wire-error table.

Every operation that must not race is a single Lua script, so it runs atomically on the
server however many API processes call it. Times are passed in by the caller (its clock
is injectable for tests); the keys of counters carry their window's start, so processes
whose clocks differ by a little only disagree about requests right at a boundary.

Key layout (``{key_id}`` is a Redis Cluster hash tag: one key's data lives on one shard):

- ``<prefix>{<key_id>}:<window>:<window start>`` — request counter of one fixed window,
  expiring shortly after the window ends;
- ``<prefix>{<key_id>}:slots`` — sorted set of held execution slots, scored by the unix
  time in ms at which each slot's lease runs out.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from redis import exceptions as wire
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from service.errors import InternalError

# The slot set outlives its longest lease by this much, so a little clock skew between
# processes never drops a live slot; it only exists to garbage-collect abandoned sets.
_SLOT_SET_GRACE_MS = 60_000
# A window's counter outlives the window by this much for the same reason.
_COUNTER_GRACE_MS = 1_000

# KEYS: one counter per window. ARGV[1]: "1" to count the request, "0" to only look;
# ARGV[1 + i]: limit of window i; ARGV[1 + n + i]: ms until counter i may expire.
# Counts only if every window is under its limit: a refused request consumes nothing.
# Returns the counts as they were before this request.
_HIT = """
local n = #KEYS
local counts = {}
local allowed = true
for i = 1, n do
  counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  if counts[i] >= tonumber(ARGV[1 + i]) then allowed = false end
end
if allowed and ARGV[1] == '1' then
  for i = 1, n do
    if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[1 + n + i]) end
  end
end
return counts
"""

# KEYS[1]: slot set. ARGV: now ms, limit, slot id, lease ms, set ttl ms.
# Prunes lapsed leases, then takes a slot if one is free. Returns {taken (0|1), active}.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local active = redis.call('ZCARD', KEYS[1])
if active >= tonumber(ARGV[2]) then return {0, active} end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, active + 1}
"""

# KEYS[1]: slot set. ARGV: slot id, new lease end ms, set ttl ms.
# Extends a lease only if the slot is still there (XX): a lapsed slot may already have
# been given to someone else, and re-adding it would exceed the limit. Returns 1 if extended.
_RENEW = """
local changed = redis.call('ZADD', KEYS[1], 'XX', 'CH', ARGV[2], ARGV[1])
if changed == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return changed
"""

# Wire errors → our message; the first matching row wins (subclasses first).
_WIRE_ERRORS: tuple[tuple[type[wire.RedisError], str], ...] = (
    (wire.AuthenticationError, "Redis at {where} refused our credentials"),
    (wire.TimeoutError, "Redis at {where} did not answer in time"),
    (wire.ConnectionError, "cannot reach Redis at {where}"),
    (wire.RedisError, "Redis at {where} failed"),
)


def describe_url(url: str) -> str:
    """``host:port/db`` of a Redis URL, without credentials (safe for messages and logs)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"


@contextmanager
def translated_errors(where: str) -> Iterator[None]:
    """Turn any Redis wire error into our ``InternalError`` (the single translation point)."""
    try:
        yield
    except wire.RedisError as error:
        template = next(text for kind, text in _WIRE_ERRORS if isinstance(error, kind))
        reason = template.format(where=where)
        raise InternalError(
            f"Rate limiting is unavailable: {reason} ({type(error).__name__}: {error}).",
            details={"component": "rate_limiter"},
        ) from error


def connect(url: str) -> Redis:
    """A client that fails fast: short timeouts and one quick retry for a stale pooled connection.

    A retried ``hit`` whose first reply was lost may count one request twice; for a
    rate limit that errs on the safe side.
    """
    return Redis.from_url(
        url,
        socket_connect_timeout=2.0,
        socket_timeout=2.0,
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), retries=1),
    )


class RedisLimitStore:
    """Counters and slot leases in Redis; every method raises ``InternalError`` on wire errors."""

    def __init__(self, client: Redis, *, prefix: str, where: str) -> None:
        self._client = client
        self._prefix = prefix
        self._where = where
        self._hit = client.register_script(_HIT)
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)

    def _key(self, key_id: str, suffix: str) -> str:
        return f"{self._prefix}{{{key_id}}}:{suffix}"

    async def count(self, key_id: str, windows: Sequence[tuple[str, int, int, float]], *, consume: bool) -> list[int]:
        """Counts before this request of each ``(name, start, limit, seconds left)`` window.

        With ``consume``, the request is counted in all windows iff all are under their limit.
        """
        keys = [self._key(key_id, f"{name}:{start}") for name, start, _, _ in windows]
        limits = [limit for _, _, limit, _ in windows]
        ttls_ms = [math.ceil(left * 1000) + _COUNTER_GRACE_MS for _, _, _, left in windows]
        with translated_errors(self._where):
            counts: list[Any] = await self._hit(keys=keys, args=["1" if consume else "0", *limits, *ttls_ms])
        return [int(count) for count in counts]

    async def acquire_slot(
        self, key_id: str, slot_id: str, *, limit: int, now_ms: int, lease_ms: int
    ) -> tuple[bool, int]:
        """Take a slot unless ``limit`` unexpired ones are held; returns (taken, active slots)."""
        args: list[str | int] = [now_ms, limit, slot_id, lease_ms, lease_ms + _SLOT_SET_GRACE_MS]
        with translated_errors(self._where):
            taken, active = await self._acquire(keys=[self._key(key_id, "slots")], args=args)
        return bool(taken), int(active)

    async def renew_slot(self, key_id: str, slot_id: str, *, now_ms: int, lease_ms: int) -> bool:
        """Extend a held slot's lease; False if it had lapsed and was taken away."""
        args: list[str | int] = [slot_id, now_ms + lease_ms, lease_ms + _SLOT_SET_GRACE_MS]
        with translated_errors(self._where):
            renewed = await self._renew(keys=[self._key(key_id, "slots")], args=args)
        return bool(renewed)

    async def release_slot(self, key_id: str, slot_id: str) -> None:
        with translated_errors(self._where):
            await self._client.zrem(self._key(key_id, "slots"), slot_id)

    async def active_slots(self, key_id: str, *, now_ms: int) -> int:
        """Slots whose lease has not run out."""
        with translated_errors(self._where):
            active = await self._client.zcount(self._key(key_id, "slots"), f"({now_ms}", "+inf")
        return int(active)

    async def close(self) -> None:
        await self._client.aclose()
