/**
 * When to repeat a request, and how long to wait first (pure; the HTTP layer only sleeps).
 *
 * Repeating is safe for GETs. The other calls change state (`POST /execute` runs code; creating,
 * restoring or deleting a snapshot, creating or merging branches, starting an instance), so they
 * are repeated only when the server certainly did not act: a 429 (refused up front) or a
 * connection that failed before the request was sent. Never after a 5xx or a timeout.
 */

/** How the client retries. */
export interface RetryPolicy {
  /** Tries after the first one (default 2). */
  maxRetries: number;
  /** First back-off in seconds; doubled per try, with jitter (default 0.5). */
  backoffBase: number;
  /** Largest single back-off in seconds (a server's `Retry-After` may ask for more; default 8). */
  backoffMax: number;
  /** Most seconds slept over all the retries of one call; a longer `Retry-After` throws at once (default 60). */
  maxWait: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxRetries: 2,
  backoffBase: 0.5,
  backoffMax: 8,
  maxWait: 60,
});

/** Status codes worth another try of an idempotent request. */
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

/** Error codes of Node's fetch (undici) for connections that failed before any byte was sent. */
const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Whether a request with this method may be repeated after any failure. */
export function isIdempotent(method: string): boolean {
  return method.toUpperCase() === "GET";
}

export function mayRetryStatus(status: number, idempotent: boolean): boolean {
  return status === 429 || (idempotent && RETRYABLE_STATUSES.has(status));
}

/** Whether a fetch that threw (no response) may be repeated. */
export function mayRetryTransportError(error: unknown, idempotent: boolean): boolean {
  return idempotent || wasNeverSent(error);
}

/** A connection refused or unresolved: the request certainly never reached the server. */
export function wasNeverSent(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 5; depth += 1) {
    if (typeof current !== "object" || current === null) return false;
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && NOT_SENT_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export interface DelayInput {
  /** Retries already made for this call. */
  retriesDone: number;
  /** Seconds already slept for this call. */
  waited: number;
  /** The server's `Retry-After` in seconds, honoured exactly when present. */
  retryAfter: number | null;
  /** A random number in [0, 1); the back-off is scaled into [50 %, 100 %]. */
  jitter: number;
}

/** Seconds to sleep before the next try, or null to give up. */
export function nextDelay(policy: RetryPolicy, input: DelayInput): number | null {
  if (input.retriesDone >= policy.maxRetries) return null;
  const backoff = Math.min(policy.backoffMax, policy.backoffBase * 2 ** input.retriesDone) * (0.5 + input.jitter / 2);
  const delay = input.retryAfter ?? backoff;
  return input.waited + delay > policy.maxWait ? null : delay;
}
