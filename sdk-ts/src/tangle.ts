/**
 * `TangleFaaSClient`: submit jobs on a Tangle chain and verify the signed results, with the same semantics
 * as Python's `faas_sdk.tangle.TangleFaaSClient`.
 *
 * ```ts
 * const client = new TangleFaaSClient({ rpcUrl: "ws://127.0.0.1:9944", blueprintId: 0, seed: "//Bob" });
 * const callId = await client.submitJob({ code: 'console.log("Verified execution")', language: "javascript" });
 * const result = await client.waitForResult(callId); // throws VerificationError if anything disagrees
 * await client.close();
 * ```
 */

import { ApiPromise, Keyring, WsProvider } from "@polkadot/api";

import { FieldError } from "./fields.js";
import { type ExecuteJobOptions, encodeJobArgs, executeJobArgs } from "./fields-jobs.js";
import { JsonSyntaxError, type JsonValue, parseJson } from "./receipt-json.js";
import { type Receipt, ReceiptFormatError, receiptFromJson } from "./receipt.js";
import { fromHex } from "./scale.js";
import { type JobResultEvent, type KeyringPair, type ServiceInstance, ServicesChain, mayCall } from "./tangle-chain.js";
import { FaaSError } from "./errors.js";
import { TangleError, VerificationError } from "./tangle-errors.js";
import { type ChainRecord, verify } from "./verify.js";

export const JOBS_PATH = "/api/v1/jobs";
const LOOKBACK_BLOCKS = 1000;
const EXECUTE_JOB = 0;

export interface TangleFaaSClientOptions {
  /** The chain node's RPC endpoint (`ws://` or `wss://`). */
  rpcUrl: string;
  /** The service instance to call; or */
  serviceId?: number | bigint;
  /** find the first service of this blueprint the caller may call. */
  blueprintId?: number | bigint;
  /** The caller's key; or */
  signer?: KeyringPair;
  /** its secret URI, mnemonic or 0x-seed (sr25519, `"//Bob"`). Without either only `waitForResult` works. */
  seed?: string;
  /** Milliseconds to wait for the operator's REST endpoint (default 30 000). */
  httpTimeoutMs?: number;
  /** Milliseconds to wait for the chain node to answer the connection (default 30 000). */
  connectTimeoutMs?: number;
}

/** A job's output whose receipt verified against the chain's record and the operator's registered key. */
export interface VerifiedResult {
  serviceId: bigint;
  callId: bigint;
  stdout: string;
  stderr: string;
  exitCode: number;
  status: string;
  reference: string;
  receipt: Receipt;
  receiptHash: Uint8Array;
  signature: Uint8Array;
  operator: string;
  blockHash: string;
}

interface Connected {
  chain: ServicesChain;
  service: ServiceInstance;
  signer: KeyringPair | null;
}

/** Run code through a FaaS blueprint's service on chain, and get back only results that verify. */
export class TangleFaaSClient {
  private readonly connected: Promise<Connected>;
  private readonly submittedAt = new Map<bigint, number>();
  private readonly httpTimeoutMs: number;
  private readonly hasKey: boolean;

  constructor(options: TangleFaaSClientOptions) {
    if ((options.serviceId === undefined) === (options.blueprintId === undefined)) {
      throw new TypeError("pass exactly one of serviceId and blueprintId");
    }
    this.httpTimeoutMs = options.httpTimeoutMs ?? 30_000;
    this.hasKey = options.signer !== undefined || options.seed !== undefined;
    this.connected = connect(options);
    this.connected.catch(() => undefined); // the error reaches whoever awaits a method; never unhandled
  }

  /** The service instance this client calls (resolves once connected). */
  async service(): Promise<ServiceInstance> {
    return guarded(async () => (await this.connected).service);
  }

  /**
   * Sign and submit job 0 (`execute`) with `Services.call`; resolves to the call id once included.
   *
   * @throws TangleError no key (`NO_KEY`), arguments over the chain's limits (`INVALID_REQUEST`), or the chain
   *   refused the call (`ChainRejectedError`).
   */
  async submitJob(options: ExecuteJobOptions): Promise<bigint> {
    if (!this.hasKey) throw new TangleError("submitting a job needs the caller's keypair or seed", { code: "NO_KEY" });
    return guarded(async () => {
      const args = encodeJobArgs(EXECUTE_JOB, executeJobArgs(options));
      const { chain, service, signer } = await this.connected;
      const start = await chain.finalizedNumber();
      const callId = await chain.submitJobCall(signer as KeyringPair, service.id, EXECUTE_JOB, args);
      this.submittedAt.set(callId, start);
      return callId;
    });
  }

  /**
   * Wait for the operator's finalized result, fetch its output and receipt from the operator's REST address
   * (its on-chain preferences), and verify them against the chain.
   *
   * @param options.timeoutMs How long to wait for a finalized result (default 120 000).
   * @throws VerificationError the receipt, output or signature disagree with the chain.
   * @throws TangleError no result in time (`TangleTimeoutError`), or the operator's endpoint failed.
   */
  async waitForResult(callId: number | bigint, options: { timeoutMs?: number } = {}): Promise<VerifiedResult> {
    return guarded(async () => {
      const { chain, service } = await this.connected;
      const call = BigInt(callId);
      const start = this.submittedAt.get(call) ?? Math.max(0, (await chain.finalizedNumber()) - LOOKBACK_BLOCKS);
      const event = await chain.waitForJobResult(service.id, call, start, options.timeoutMs ?? 120_000);
      const served = await this.fetch(chain, service, event);
      return verified(event, served, await chain.chainRecord(service.id, call, event.operator));
    });
  }

  /** Close the chain connection. */
  async close(): Promise<void> {
    const connected = await this.connected.catch(() => null);
    await connected?.chain.api.disconnect();
  }

  private async fetch(chain: ServicesChain, service: ServiceInstance, event: JobResultEvent): Promise<Record<string, JsonValue>> {
    const preferences = await chain.operatorPreferences(service.blueprint, event.operator);
    if (preferences === null) {
      throw new TangleError(`${event.operator} is not an operator of blueprint ${service.blueprint}`, { code: "NOT_FOUND" });
    }
    const url = `${preferences.rpcAddress.replace(/\/+$/, "")}${JOBS_PATH}/${event.serviceId}/${event.callId}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.httpTimeoutMs) });
      text = await response.text();
    } catch (error) {
      throw new TangleError(`the operator's endpoint failed: ${String(error)}`, { code: "CONNECTION_ERROR", cause: error });
    }
    if (response.status !== 200) {
      throw new TangleError(`the operator's endpoint ${url} answered HTTP ${response.status}`, {
        code: "OPERATOR_ERROR",
        statusCode: response.status,
      });
    }
    return readBody(text);
  }
}

async function connect(options: TangleFaaSClientOptions): Promise<Connected> {
  // Reconnects by itself after a drop (every second); a first connection that fails is given up on.
  const provider = new WsProvider(options.rpcUrl, 1000);
  let api: ApiPromise;
  try {
    const created = ApiPromise.create({ provider, throwOnConnect: true, noInitWarn: true });
    api = await withTimeout(created, options.connectTimeoutMs ?? 30_000, "no answer in time");
  } catch (error) {
    await provider.disconnect().catch(() => undefined);
    throw new TangleError(`cannot reach the node at ${options.rpcUrl}: ${(error as Error).message}`, { code: "CONNECTION_ERROR", cause: error });
  }
  try {
    const signer = options.signer ?? (options.seed === undefined ? null : loadSigner(options.seed));
    const chain = new ServicesChain(api);
    return { chain, signer, service: await findService(chain, options, signer) };
  } catch (error) {
    await api.disconnect();
    throw error;
  }
}

function loadSigner(seed: string): KeyringPair {
  try {
    return new Keyring({ type: "sr25519", ss58Format: 42 }).addFromUri(seed.trim());
  } catch (error) {
    throw new TangleError(`not a usable secret URI, mnemonic or seed: ${(error as Error).message}`, { code: "INVALID_REQUEST" });
  }
}

async function findService(chain: ServicesChain, options: TangleFaaSClientOptions, signer: KeyringPair | null): Promise<ServiceInstance> {
  if (options.serviceId !== undefined) {
    const service = await chain.service(BigInt(options.serviceId));
    if (service === null) throw new TangleError(`there is no service ${options.serviceId} on chain`, { code: "NOT_FOUND" });
    return service;
  }
  const caller = signer?.address ?? "";
  const blueprint = BigInt(options.blueprintId as number | bigint);
  const service = (await chain.services()).find((item) => item.blueprint === blueprint && mayCall(item, caller));
  if (service === undefined) throw new TangleError(`no service of blueprint ${blueprint} accepts calls from ${caller}`, { code: "NOT_FOUND" });
  return service;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function readBody(text: string): Record<string, JsonValue> {
  let body: JsonValue;
  try {
    body = parseJson(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    throw new TangleError(`the operator's endpoint sent an unreadable answer: ${error.message}`, { code: "OPERATOR_ERROR" });
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new TangleError("the operator's endpoint sent an unreadable answer: not a JSON object", { code: "OPERATOR_ERROR" });
  }
  return body;
}

function object(value: JsonValue | undefined): Record<string, JsonValue> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : {};
}

function text(value: JsonValue | undefined): string {
  return value === undefined ? "" : typeof value === "string" ? value : String(value);
}

function servedHex(value: JsonValue | undefined): Uint8Array | null {
  if (typeof value !== "string" || !value.startsWith("0x")) return null;
  try {
    return fromHex(value);
  } catch {
    return null;
  }
}

/** Verify what the operator served against the chain record: every reason, as Python's `_verified` gives them. */
export function verified(event: JobResultEvent, served: Record<string, JsonValue>, record: ChainRecord): VerifiedResult {
  const output = object(served["output"]);
  let receipt: Receipt;
  try {
    receipt = receiptFromJson(object(served["receipt"]));
  } catch (error) {
    throw translated(error);
  }
  const [stdout, stderr] = [text(output["stdout"]), text(output["stderr"])];
  const outcome = verify(receipt, { stdout, stderr }, record, {
    receiptHash: servedHex(served["receipt_hash"]),
    signature: servedHex(served["signature"]),
  });
  const reasons = [...outcome.reasons];
  const exitCode = "exit_code" in output ? output["exit_code"] : receipt.exitCode;
  if (!(typeof exitCode === "number" || typeof exitCode === "bigint") || Number(exitCode) !== receipt.exitCode) {
    reasons.push("the exit code the operator served differs from its receipt's");
  }
  if (reasons.length > 0) throw new VerificationError(reasons);
  return {
    serviceId: event.serviceId,
    callId: event.callId,
    stdout,
    stderr,
    exitCode: receipt.exitCode,
    status: receipt.status,
    reference: event.result.reference,
    receipt,
    receiptHash: outcome.receiptHash,
    signature: event.result.signature,
    operator: event.operator,
    blockHash: event.blockHash,
  };
}

const CONNECTION_FAILURE = /disconnected|not connected|ECONNREFUSED|ECONNRESET|socket hang up|Abnormal Closure/i;

/** The one table from the errors underneath (@polkadot/api, `Field` encoding, receipts) to the SDK's. */
function translated(error: unknown): Error {
  if (error instanceof FaaSError) return error;
  if (error instanceof FieldError) return new TangleError(error.message, { code: "INVALID_REQUEST", cause: error });
  if (error instanceof ReceiptFormatError) return new VerificationError([`the operator served a malformed receipt: ${error.message}`]);
  const message = error instanceof Error ? error.message : String(error);
  const code = CONNECTION_FAILURE.test(message) ? "CONNECTION_ERROR" : "CHAIN_ERROR";
  return new TangleError(`the chain node failed: ${message}`, { code, cause: error });
}

async function guarded<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw translated(error);
  }
}
