/**
 * The SDK's errors, and the one table from the API's error codes to them.
 *
 * FaaSError                         .code .message .details .statusCode .requestId
 * ├── AuthenticationError           UNAUTHORIZED (401)
 * ├── PermissionDeniedError         FORBIDDEN (403)
 * ├── NotFoundError                 NOT_FOUND (404)
 * ├── InvalidRequestError           INVALID_REQUEST (400)
 * ├── ConflictError                 CONFLICT (409)
 * ├── RateLimitError                RATE_LIMIT_EXCEEDED (429)
 * ├── ExecutionTimeoutError         EXECUTION_TIMEOUT (408)
 * ├── InsufficientResourcesError    INSUFFICIENT_RESOURCES (507)
 * ├── PaymentRequiredError          PAYMENT_REQUIRED (402)
 * ├── InternalServerError           INTERNAL_ERROR (500) and other 5xx
 * ├── InvalidResponseError          INVALID_RESPONSE: a 2xx answer that is not what the API documents
 * └── FaaSConnectionError           the request or stream never got an answer
 */

export type Details = Record<string, unknown>;

export interface FaaSErrorOptions {
  code?: string;
  details?: Details;
  statusCode?: number | null;
  requestId?: string | null;
  /** Response headers, lower-cased. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** Root of every error the SDK throws. */
export class FaaSError extends Error {
  /** The API's error code (`"NOT_FOUND"`...), or `"CONNECTION_ERROR"`. */
  readonly code: string;
  /** The envelope's `details` object. */
  readonly details: Details;
  /** The HTTP status, or null when there was no response. */
  readonly statusCode: number | null;
  /** The server's `X-Request-ID` of the failed request, if any. */
  readonly requestId: string | null;

  constructor(message: string, options: FaaSErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? "UNKNOWN_ERROR";
    this.details = options.details ?? {};
    this.statusCode = options.statusCode ?? null;
    this.requestId = options.requestId ?? null;
  }
}

/** The API key is missing or unknown. */
export class AuthenticationError extends FaaSError {}

/** The API key may not do this. */
export class PermissionDeniedError extends FaaSError {}

/** No such execution, instance, snapshot or branch (or endpoint) for this API key. */
export class NotFoundError extends FaaSError {}

/** The server refused the request's parameters; `details.errors` lists them. */
export class InvalidRequestError extends FaaSError {}

/**
 * The resource's state forbids the request; `details` says why: a stopped instance, a snapshot
 * that branches or children still need (`details.branches`, `details.children`), a three-way
 * merge with conflicts (`details.conflicts`).
 */
export class ConflictError extends FaaSError {}

/** The account's balance is too low. */
export class PaymentRequiredError extends FaaSError {}

/** The node cannot take the work now (or GPUs were asked for). */
export class InsufficientResourcesError extends FaaSError {}

/** A failure on the server's side; quote `requestId` when reporting it. */
export class InternalServerError extends FaaSError {}

/** A successful answer that is not what the API documents (not JSON, a field missing or mistyped). */
export class InvalidResponseError extends FaaSError {
  constructor(message: string, options: FaaSErrorOptions = {}) {
    super(message, { code: "INVALID_RESPONSE", ...options });
  }
}

/** The server could not be reached, or the connection broke before an answer. */
export class FaaSConnectionError extends FaaSError {
  constructor(message: string, options: FaaSErrorOptions = {}) {
    super(message, { code: "CONNECTION_ERROR", ...options });
  }
}

/** Too many requests. */
export class RateLimitError extends FaaSError {
  /** When the limit resets: `details.reset_at`, `X-RateLimit-Reset` or `Retry-After`; now when nothing said. */
  readonly resetAt: Date;
  /** Seconds to wait, from `Retry-After`, if the server sent it. */
  readonly retryAfter: number | null;
  /** Requests allowed in the window, if known. */
  readonly limit: number | null;
  /** Requests left in the window, if known. */
  readonly remaining: number | null;

  constructor(message: string, options: FaaSErrorOptions = {}) {
    super(message, options);
    const headers = options.headers ?? {};
    const now = Date.now();
    this.retryAfter = parseRetryAfter(headers["retry-after"], now);
    this.limit = intOrNull(this.details["limit"] ?? headers["x-ratelimit-limit"]);
    this.remaining = intOrNull(this.details["remaining"] ?? headers["x-ratelimit-remaining"]);
    this.resetAt =
      parseInstant(this.details["reset_at"]) ??
      parseInstant(headers["x-ratelimit-reset"]) ??
      new Date(now + (this.retryAfter ?? 0) * 1000);
  }
}

/** The program hit its time limit and was killed; its partial output is kept. */
export class ExecutionTimeoutError extends FaaSError {
  /** The stored execution (fetch it with `getExecution`). */
  readonly executionId: string | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(message: string, options: FaaSErrorOptions = {}) {
    super(message, options);
    const details = this.details;
    this.executionId = typeof details["execution_id"] === "string" ? details["execution_id"] : null;
    this.stdout = typeof details["stdout"] === "string" ? details["stdout"] : "";
    this.stderr = typeof details["stderr"] === "string" ? details["stderr"] : "";
  }
}

type ErrorClass = new (message: string, options?: FaaSErrorOptions) => FaaSError;

export const ERROR_CODES: Readonly<Record<string, ErrorClass>> = {
  UNAUTHORIZED: AuthenticationError,
  FORBIDDEN: PermissionDeniedError,
  NOT_FOUND: NotFoundError,
  RATE_LIMIT_EXCEEDED: RateLimitError,
  INVALID_REQUEST: InvalidRequestError,
  CONFLICT: ConflictError,
  EXECUTION_TIMEOUT: ExecutionTimeoutError,
  INSUFFICIENT_RESOURCES: InsufficientResourcesError,
  PAYMENT_REQUIRED: PaymentRequiredError,
  INTERNAL_ERROR: InternalServerError,
};

/** For answers without our envelope (a proxy's 502 page, a refused WebSocket handshake). */
export const STATUS_CODES: Readonly<Record<number, string>> = {
  400: "INVALID_REQUEST",
  401: "UNAUTHORIZED",
  402: "PAYMENT_REQUIRED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  408: "EXECUTION_TIMEOUT",
  409: "CONFLICT",
  429: "RATE_LIMIT_EXCEEDED",
  507: "INSUFFICIENT_RESOURCES",
};

interface Envelope {
  code: string;
  message: string;
  details: Details;
}

function readEnvelope(body: unknown): Envelope | null {
  const error = isObject(body) ? body["error"] : undefined;
  if (!isObject(error) || typeof error["code"] !== "string") return null;
  const message = error["message"];
  const details = error["details"];
  return {
    code: error["code"],
    message: typeof message === "string" && message ? message : error["code"],
    details: isObject(details) ? details : {},
  };
}

function classFor(code: string, statusCode: number): ErrorClass {
  const known = ERROR_CODES[code];
  if (known !== undefined) return known;
  if (statusCode >= 500) return InternalServerError;
  return ERROR_CODES[STATUS_CODES[statusCode] ?? ""] ?? FaaSError;
}

/**
 * The typed error of an error answer: its envelope's code, else its HTTP status.
 *
 * @param headers - Response headers (any case).
 * @param text - The raw body, used as the message when there is no envelope.
 */
export function errorFromEnvelope(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
  text = "",
): FaaSError {
  const fallbackCode = STATUS_CODES[statusCode] ?? (statusCode >= 500 ? "INTERNAL_ERROR" : "UNKNOWN_ERROR");
  const envelope = readEnvelope(body) ?? {
    code: fallbackCode,
    message: text.trim().slice(0, 500) || `HTTP ${statusCode}`,
    details: {},
  };
  const lowered = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  const Kind = classFor(envelope.code, statusCode);
  return new Kind(envelope.message, {
    code: envelope.code,
    details: envelope.details,
    statusCode,
    requestId: lowered["x-request-id"] ?? null,
    headers: lowered,
  });
}

/** Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date); null if absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (value === null || value === undefined || value.trim() === "") return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const when = Date.parse(trimmed);
  return Number.isNaN(when) ? null : Math.max(0, (when - now) / 1000);
}

/** An ISO 8601 instant or Unix seconds (the rate limit's reset time). */
function parseInstant(value: unknown): Date | null {
  if (typeof value === "number") return new Date(value * 1000);
  if (typeof value !== "string" || value === "") return null;
  if (/^\d+(\.\d+)?$/.test(value)) return new Date(Number(value) * 1000);
  const hasZone = /([zZ]|[+-]\d\d:?\d\d)$/.test(value);
  const parsed = Date.parse(hasZone ? value : `${value}Z`);
  return Number.isNaN(parsed) ? null : new Date(parsed);
}

function intOrNull(value: unknown): number | null {
  const number = typeof value === "string" ? Number(value) : value;
  return typeof number === "number" && Number.isFinite(number) ? Math.trunc(number) : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
