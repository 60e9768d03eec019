"""When to repeat a request, and how long to wait first (pure; the clients only sleep).

Repeating is safe for GETs. The other calls change state (``POST /execute`` runs code;
creating, restoring or deleting a snapshot, creating or merging branches), so they are
repeated only when the server certainly did not act: a 429 (refused up front) or a
connection that failed before the request was sent. Never after a 5xx or a read timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from faas_sdk._exceptions import parse_retry_after

# Methods whose repetition changes nothing on the server; every other call is repeated only if it was never acted on.
IDEMPOTENT_METHODS = frozenset({"GET"})
# Status codes worth another try of an idempotent request.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Transport failures that happen before any byte of the request reached the server.
NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How the clients retry.

    Attributes:
        max_retries: Tries after the first one.
        backoff_base: First back-off in seconds; doubled per try, with jitter.
        backoff_max: Largest single back-off (a server's ``Retry-After`` may ask for more).
        max_wait: Most seconds slept over all the retries of one call; a longer
            ``Retry-After`` raises the error at once instead.
    """

    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_wait: float = 60.0


def is_idempotent(method: str) -> bool:
    """Whether a request with this method may be repeated after any failure."""
    return method in IDEMPOTENT_METHODS


def may_retry_status(status_code: int, *, idempotent: bool) -> bool:
    if status_code == 429:
        return True
    return idempotent and status_code in RETRYABLE_STATUSES


def may_retry_transport_error(exc: httpx.TransportError, *, idempotent: bool) -> bool:
    return idempotent or isinstance(exc, NOT_SENT_ERRORS)


def next_delay(
    policy: RetryPolicy,
    *,
    retries_done: int,
    waited: float,
    retry_after: float | None,
    jitter: float,
) -> float | None:
    """Seconds to sleep before the next try, or None to give up.

    Args:
        retries_done: Retries already made for this call.
        waited: Seconds already slept for this call.
        retry_after: The server's ``Retry-After``, honoured exactly when present.
        jitter: A random number in [0, 1); the back-off is scaled into [50 %, 100 %].
    """
    if retries_done >= policy.max_retries:
        return None
    if retry_after is not None:
        delay = retry_after
    else:
        delay = min(policy.backoff_max, policy.backoff_base * 2**retries_done) * (0.5 + jitter / 2)
    if waited + delay > policy.max_wait:
        return None
    return delay


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The response's ``Retry-After`` in seconds, if it has one."""
    return parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
