/** FaaSClient: the REST API and its output streams. */

import { Branches } from "./branches.js";
import { HttpClient, apiBaseUrl, type FetchLike } from "./http.js";
import { Instances } from "./instances.js";
import type { ExecuteOptions, Execution } from "./models.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";
import { Snapshots } from "./snapshots.js";
import { ExecutionStream } from "./stream.js";
import { streamUrl } from "./stream-protocol.js";
import { Usage } from "./usage.js";
import { executeBody, parseExecution } from "./wire.js";

export const DEFAULT_ENDPOINT = "http://127.0.0.1:8080";
/** An execution may run for minutes (the server allows up to 300 s plus a build); 360 s per try. */
export const DEFAULT_TIMEOUT_MS = 360_000;

export interface FaaSClientOptions {
  /** The API key; defaults to `FAAS_API_KEY` (in Node). */
  apiKey?: string | undefined;
  /** The server, e.g. `https://api.faas.platform`; defaults to `FAAS_ENDPOINT`, else `http://127.0.0.1:8080`. */
  endpoint?: string | undefined;
  /** Milliseconds per try of a request (default 360 000). */
  timeoutMs?: number;
  /** Retries of a failed call where retrying is safe (default 2); see `retry`. */
  maxRetries?: number;
  /** Full retry settings; override `maxRetries`. */
  retry?: Partial<RetryPolicy>;
  /** Another fetch: a proxy-aware one, or a fake in tests. */
  fetch?: FetchLike;
  /** How to wait between retries, in seconds (tests inject a recorder). */
  sleep?: (seconds: number) => Promise<void>;
  /** Milliseconds to open a stream's WebSocket (default 10 000). */
  streamOpenTimeoutMs?: number;
}

function environment(name: string): string | undefined {
  return typeof process === "undefined" ? undefined : process.env[name] || undefined;
}

/**
 * Client of the FaaS REST API.
 *
 * ```ts
 * const client = new FaaSClient({ apiKey: process.env.FAAS_API_KEY, endpoint: "https://api.faas.platform" });
 * const execution = await client.execute({ code: "print(1)", language: "python" });
 * ```
 *
 * @throws TypeError - No API key was given or found in the environment.
 */
export class FaaSClient {
  readonly snapshots: Snapshots;
  readonly branches: Branches;
  readonly instances: Instances;
  readonly usage: Usage;
  private readonly http: HttpClient;
  private readonly streamOpenTimeoutMs: number;

  constructor(options: FaaSClientOptions = {}) {
    const apiKey = options.apiKey ?? environment("FAAS_API_KEY");
    if (!apiKey) throw new TypeError("no API key: pass { apiKey } or set FAAS_API_KEY");
    const retry = { ...DEFAULT_RETRY_POLICY, maxRetries: options.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries };
    this.http = new HttpClient({
      baseUrl: apiBaseUrl(options.endpoint ?? environment("FAAS_ENDPOINT") ?? DEFAULT_ENDPOINT),
      apiKey,
      fetch: options.fetch ?? ((url, init) => fetch(url, init)),
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      retry: { ...retry, ...options.retry },
      sleep: options.sleep ?? ((seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000))),
      random: Math.random,
    });
    this.streamOpenTimeoutMs = options.streamOpenTimeoutMs ?? 10_000;
    const run = (execute: ExecuteOptions): Promise<Execution> => this.execute(execute);
    this.snapshots = new Snapshots(this.http);
    this.branches = new Branches(this.http, run);
    this.instances = new Instances(this.http, run);
    this.usage = new Usage(this.http);
  }

  /** The API's root, e.g. `http://127.0.0.1:8080/api/v1`. */
  get baseUrl(): string {
    return this.http.settings.baseUrl;
  }

  /**
   * Run code and return its result (with `async: true`, at once with `status: "running"`).
   * Never re-sent after a 5xx or a timeout: the server may have run it.
   *
   * @throws ExecutionTimeoutError - The program hit its time limit (partial output attached).
   * @throws ConflictError - The instance is stopped or paused, or the branch moved on meanwhile.
   * @throws FaaSError - Any other refusal or failure (see the error tree).
   */
  async execute(options: ExecuteOptions): Promise<Execution> {
    return parseExecution(await this.http.json({ method: "POST", path: ["execute"], json: executeBody(options) }));
  }

  /** @throws NotFoundError - There is no such execution for this key. */
  async getExecution(executionId: string): Promise<Execution> {
    return parseExecution(await this.http.json({ method: "GET", path: ["executions", executionId] }));
  }

  /**
   * The live output of an execution (a finished one is replayed): `on('output' | 'progress' |
   * 'complete' | 'error', ...)`, or `for await (const event of stream)`.
   */
  stream(executionId: string): ExecutionStream {
    return new ExecutionStream(executionId, {
      url: streamUrl(this.http.settings.baseUrl, executionId),
      headers: this.http.headers(),
      apiKey: this.http.settings.apiKey,
      openTimeoutMs: this.streamOpenTimeoutMs,
    });
  }
}
