/** One request function for the REST API: the key, JSON, a timeout per try, and the retry loop. */

import {
  FaaSConnectionError,
  InvalidResponseError,
  errorFromEnvelope,
  parseRetryAfter,
  type FaaSError,
} from "./errors.js";
import { isIdempotent, mayRetryStatus, mayRetryTransportError, nextDelay, type RetryPolicy } from "./retry.js";
import { SDK_VERSION } from "./version.js";

/** The subset of the global `fetch` the client uses; inject another (a proxy agent, a test fake). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export type QueryValue = string | number | boolean | null | undefined;

export interface HttpSettings {
  /** The API's root, e.g. `http://127.0.0.1:8080/api/v1`. */
  baseUrl: string;
  apiKey: string;
  fetch: FetchLike;
  /** Milliseconds per try of a request. */
  timeoutMs: number;
  retry: RetryPolicy;
  sleep: (seconds: number) => Promise<void>;
  random: () => number;
}

export interface RequestSpec {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path segments under the API root; each is percent-encoded (an id cannot change the route). */
  path: readonly string[];
  query?: Record<string, QueryValue>;
  /** A JSON body. */
  json?: unknown;
  /** A binary body (a tar archive) and its media type. */
  bytes?: { data: Uint8Array; contentType: string };
}

/** `http://host:8080` (or `.../api/v1`) → `http://host:8080/api/v1`. */
export function apiBaseUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, "");
  return base.endsWith("/api/v1") ? base : `${base}/api/v1`;
}

/** The URL of a request: encoded path segments and the query's set values. */
export function requestUrl(baseUrl: string, path: readonly string[], query: Record<string, QueryValue> = {}): string {
  const url = new URL(baseUrl + path.map((segment) => `/${encodeURIComponent(segment)}`).join(""));
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined) url.searchParams.set(name, String(value));
  }
  return url.toString();
}

export class HttpClient {
  constructor(readonly settings: HttpSettings) {}

  /** The headers every request (and the stream's handshake) carries. */
  headers(): Record<string, string> {
    return {
      Authorization: `Bearer ${this.settings.apiKey}`,
      Accept: "application/json",
      "User-Agent": `faas-sdk-typescript/${SDK_VERSION}`,
    };
  }

  /** The parsed JSON answer (undefined for 204), or the typed error; retried as the policy allows. */
  async json(spec: RequestSpec): Promise<unknown> {
    const response = await this.send(spec);
    if (response.status === 204) return undefined;
    const text = await response.text();
    if (text === "") return undefined;
    try {
      return JSON.parse(text);
    } catch (error) {
      const what = `${spec.method} ${response.url || spec.path.join("/")} answered ${response.status} with no JSON`;
      throw new InvalidResponseError(`${what}: ${text.slice(0, 200)}`, { statusCode: response.status, cause: error });
    }
  }

  /** The raw bytes of a successful answer (a tar download). */
  async bytes(spec: RequestSpec): Promise<Uint8Array> {
    return new Uint8Array(await (await this.send(spec)).arrayBuffer());
  }

  private async send(spec: RequestSpec): Promise<Response> {
    const url = requestUrl(this.settings.baseUrl, spec.path, spec.query);
    let retriesDone = 0;
    let waited = 0;
    for (;;) {
      const outcome = await this.tryOnce(spec, url);
      if (outcome instanceof Response) return outcome;
      const delay = outcome.retryable
        ? nextDelay(this.settings.retry, {
            retriesDone,
            waited,
            retryAfter: outcome.retryAfter,
            jitter: this.settings.random(),
          })
        : null;
      if (delay === null) throw outcome.error;
      await this.settings.sleep(delay);
      retriesDone += 1;
      waited += delay;
    }
  }

  private async tryOnce(spec: RequestSpec, url: string): Promise<Response | Failure> {
    const idempotent = isIdempotent(spec.method);
    let response: Response;
    try {
      response = await this.settings.fetch(url, this.init(spec));
    } catch (error) {
      const retryable = mayRetryTransportError(error, idempotent);
      return { error: connectionError(error, spec.method, url), retryable, retryAfter: null };
    }
    if (response.ok) return response;
    return {
      error: await errorFromResponse(response),
      retryable: mayRetryStatus(response.status, idempotent),
      retryAfter: parseRetryAfter(response.headers.get("retry-after")),
    };
  }

  private init(spec: RequestSpec): RequestInit {
    const headers: Record<string, string> = this.headers();
    let body: RequestInit["body"];
    if (spec.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(spec.json);
    } else if (spec.bytes !== undefined) {
      headers["Content-Type"] = spec.bytes.contentType;
      body = spec.bytes.data;
    }
    return { method: spec.method, headers, body, signal: AbortSignal.timeout(this.settings.timeoutMs) };
  }
}

interface Failure {
  error: FaaSError;
  retryable: boolean;
  retryAfter: number | null;
}

/** The typed error of a non-2xx response. */
export async function errorFromResponse(response: Response): Promise<FaaSError> {
  const text = await response.text().catch(() => "");
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Not our envelope (a proxy's error page): typed by its status instead.
  }
  return errorFromEnvelope(response.status, body, Object.fromEntries(response.headers.entries()), text);
}

/** A transport failure in words a user can act on. */
export function connectionError(error: unknown, method: string, url: string): FaaSConnectionError {
  const timedOut = error instanceof Error && error.name === "TimeoutError";
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  const what = error instanceof Error ? `${error.name}: ${error.message}${cause}` : String(error);
  const hint =
    timedOut && !isIdempotent(method)
      ? "; the server may have acted on it anyway: it is not retried automatically"
      : "";
  return new FaaSConnectionError(`${method} ${url} failed: ${what}${hint}`, { cause: error });
}
