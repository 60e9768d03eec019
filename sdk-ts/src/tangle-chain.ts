/**
 * The Services pallet over @polkadot/api, as plain values: services, operators' preferences, job calls and
 * results, `JobResultSubmitted` events, and `Services.call`. Exact argument and result bytes come from raw
 * storage, never from re-encoding decoded values: `JobCalls` holds `JobCall { service_id: u64, job: u8,
 * args: Vec<Field> }` (args after 9 bytes), `JobResults` holds `JobCallResult { service_id: u64,
 * call_id: u64, result: Vec<Field> }` (result after 16 bytes).
 */

import type { ApiPromise, Keyring } from "@polkadot/api";
import type { SubmittableExtrinsic } from "@polkadot/api/types";
import type { DispatchError } from "@polkadot/types/interfaces";
import type { Codec, ISubmittableResult } from "@polkadot/types/types";

import { FieldError } from "./fields.js";
import { type JobResult, decodeResult } from "./fields-jobs.js";
import { blake2_256 } from "./receipt.js";
import { fromHex } from "./scale.js";
import { ChainRejectedError, TangleError, TangleTimeoutError } from "./tangle-errors.js";
import type { ChainRecord } from "./verify.js";

/** A key that signs extrinsics, as `Keyring.addFromUri` makes it. */
export type KeyringPair = ReturnType<Keyring["addFromUri"]>;

const JOB_CALL_HEADER = 8 + 1;
const JOB_RESULT_HEADER = 8 + 8;

/** `Services.Instances(id)`, trimmed to what callers need. */
export interface ServiceInstance {
  id: bigint;
  blueprint: bigint;
  owner: string;
  operators: string[];
  permittedCallers: string[];
  ttl: bigint;
}

/** Whether `account` may call the service's jobs (the owner, or a permitted caller; none listed = anyone). */
export function mayCall(service: ServiceInstance, account: string): boolean {
  return service.permittedCallers.length === 0 || service.permittedCallers.includes(account) || account === service.owner;
}

/** `Services.Operators(blueprint, account)`: the operator's role key and REST address. */
export interface OperatorPreferences {
  key: Uint8Array;
  rpcAddress: string;
}

/** A `Services.JobResultSubmitted` event: who answered, in which block, with what. */
export interface JobResultEvent {
  blockNumber: number;
  blockHash: string;
  serviceId: bigint;
  callId: bigint;
  job: number;
  operator: string;
  result: JobResult;
}

type Struct = Record<string, Codec & { toBigInt?: () => bigint; toNumber?: () => number }>;

function field(value: Codec, name: string): Codec {
  const found = (value as unknown as Struct)[name];
  if (found === undefined) throw new TangleError(`the chain's ${value.toRawType()} has no ${name}`, { code: "CHAIN_ERROR" });
  return found;
}

const big = (value: Codec): bigint => BigInt(value.toString());

function serviceInstance(value: Codec): ServiceInstance {
  const commitments = field(value, "operatorSecurityCommitments") as unknown as Codec[];
  return {
    id: big(field(value, "id")),
    blueprint: big(field(value, "blueprint")),
    owner: field(value, "owner").toString(),
    operators: commitments.map((entry) => (entry as unknown as Codec[])[0]?.toString() ?? ""),
    permittedCallers: (field(value, "permittedCallers") as unknown as Codec[]).map((caller) => caller.toString()),
    ttl: big(field(value, "ttl")),
  };
}

function unwrap(value: Codec): Codec | null {
  const option = value as Codec & { isSome?: boolean; unwrap?: () => Codec };
  if (option.unwrap === undefined) return value;
  return option.isSome ? option.unwrap() : null;
}

/** The Services pallet through one @polkadot/api connection. */
export class ServicesChain {
  constructor(readonly api: ApiPromise) {}

  /** `Instances(id)`, or null. */
  async service(id: bigint): Promise<ServiceInstance | null> {
    const stored = unwrap(await this.api.query.services!.instances!(id));
    return stored === null ? null : serviceInstance(stored);
  }

  /** Every service instance on chain, by id. */
  async services(): Promise<ServiceInstance[]> {
    const entries = await this.api.query.services!.instances!.entries();
    const found = entries.map(([, value]) => unwrap(value)).filter((value): value is Codec => value !== null);
    return found.map(serviceInstance).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** `Operators(blueprint, operator)`, or null when the account is not registered. */
  async operatorPreferences(blueprint: bigint, operator: string): Promise<OperatorPreferences | null> {
    const stored = unwrap(await this.api.query.services!.operators!(blueprint, operator));
    if (stored === null) return null;
    const key = field(stored, "key").toU8a();
    if (key.length !== 65) throw new TangleError(`the registered key of ${operator} is not 65 bytes`, { code: "CHAIN_ERROR" });
    const address = field(stored, "rpcAddress") as Codec & { toUtf8: () => string };
    return { key, rpcAddress: address.toUtf8() };
  }

  private async raw(storage: string, ...keys: unknown[]): Promise<Uint8Array | null> {
    const key = this.api.query.services![storage]!.key(...keys);
    const raw = (await this.api.rpc.state.getStorage.raw(key)) as unknown;
    return raw === null || raw === undefined ? null : fromHex(String(raw));
  }

  /** `JobCalls(service, call)`: the job index and the exact SCALE bytes of its args, or null. */
  async jobCall(serviceId: bigint, callId: bigint): Promise<{ job: number; argsScale: Uint8Array } | null> {
    const raw = await this.raw("jobCalls", serviceId, callId);
    return raw === null ? null : { job: raw[JOB_CALL_HEADER - 1] as number, argsScale: raw.slice(JOB_CALL_HEADER) };
  }

  /** `JobResults(service, call)`, or null while there is none. */
  async jobResult(serviceId: bigint, callId: bigint): Promise<JobResult | null> {
    const raw = await this.raw("jobResults", serviceId, callId);
    if (raw === null) return null;
    try {
      return decodeResult(raw.slice(JOB_RESULT_HEADER));
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      throw new TangleError(`the result of ${serviceId}/${callId} is malformed: ${error.message}`, { code: "CHAIN_ERROR" });
    }
  }

  /** The number of the latest finalized block. */
  async finalizedNumber(): Promise<number> {
    const head = await this.api.rpc.chain.getFinalizedHead();
    return (await this.api.rpc.chain.getHeader(head)).number.toNumber();
  }

  /** The `JobResultSubmitted` events of one block that carry this blueprint's result shape. */
  async jobResultsIn(blockNumber: number): Promise<JobResultEvent[]> {
    const blockHash = (await this.api.rpc.chain.getBlockHash(blockNumber)).toHex();
    const records = (await this.api.query.system!.events!.at(blockHash)) as unknown as { event: Codec & { section: string; method: string } }[];
    const results: JobResultEvent[] = [];
    for (const { event } of records) {
      if (event.section !== "services" || event.method !== "JobResultSubmitted") continue;
      const data = field(event, "data");
      let result: JobResult;
      try {
        result = decodeResult(field(data, "result").toU8a());
      } catch (error) {
        if (error instanceof FieldError) continue; // not this blueprint's result shape: nothing a FaaS client can verify
        throw error;
      }
      const [serviceId, callId] = [big(field(data, "serviceId")), big(field(data, "callId"))];
      results.push({ blockNumber, blockHash, serviceId, callId, job: Number(big(field(data, "job"))), operator: field(data, "operator").toString(), result });
    }
    return results;
  }

  /**
   * The first finalized `JobResultSubmitted` for the call, scanning from block `fromBlock`.
   *
   * @throws TangleTimeoutError none was finalized within `timeoutMs`.
   */
  async waitForJobResult(serviceId: bigint, callId: bigint, fromBlock: number, timeoutMs: number, pollMs = 500): Promise<JobResultEvent> {
    const deadline = Date.now() + timeoutMs;
    let next = fromBlock;
    for (;;) {
      const finalized = await this.finalizedNumber();
      for (; next <= finalized; next++) {
        const found = (await this.jobResultsIn(next)).find((event) => event.serviceId === serviceId && event.callId === callId);
        if (found !== undefined) return found;
      }
      if (Date.now() >= deadline) {
        throw new TangleTimeoutError(`no finalized result for call ${callId} of service ${serviceId} within ${timeoutMs / 1000} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /**
   * Call `job` of the service with `Services.call`, wait for inclusion, and return the call id from `JobCalled`.
   *
   * @throws ChainRejectedError the node refused the extrinsic or the pallet failed it.
   */
  async submitJobCall(signer: KeyringPair, serviceId: bigint, job: number, argsScale: Uint8Array): Promise<bigint> {
    const included = await this.included(this.api.tx.services!.call!(serviceId, job, argsScale), signer);
    if (included.dispatchError !== undefined) throw new ChainRejectedError(`Services.call failed: ${this.describe(included.dispatchError)}`);
    const called = included.events.find(({ event }) => event.section === "services" && event.method === "JobCalled");
    if (called === undefined) throw new TangleError("Services.call succeeded without a JobCalled event", { code: "CHAIN_ERROR" });
    return big(field(called.event.data, "callId"));
  }

  /** Sign and send `extrinsic`; resolves once it is in a block (never re-sent: it could act twice). */
  private included(extrinsic: SubmittableExtrinsic<"promise">, signer: KeyringPair): Promise<ISubmittableResult> {
    return new Promise((resolve, reject) => {
      let unsubscribe: (() => void) | undefined;
      let settled: ISubmittableResult | Error | undefined;
      const settle = (outcome: ISubmittableResult | Error) => {
        settled = outcome;
        unsubscribe?.();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      extrinsic
        .signAndSend(signer, (outcome) => {
          if (settled !== undefined) return;
          if (outcome.status.isInBlock || outcome.status.isFinalized) settle(outcome);
          else if (outcome.status.isInvalid || outcome.status.isDropped || outcome.status.isUsurped) {
            settle(new ChainRejectedError(`${extrinsic.method.section}.${extrinsic.method.method} was not included: ${outcome.status.type}`));
          }
        })
        .then((stop) => {
          unsubscribe = stop;
          if (settled !== undefined) stop();
        })
        .catch((error: unknown) => settle(new ChainRejectedError(`the node refused the extrinsic: ${(error as Error).message}`, { cause: error })));
    });
  }

  private describe(dispatchError: DispatchError): string {
    if (!dispatchError.isModule) return dispatchError.toString();
    const meta = this.api.registry.findMetaError(dispatchError.asModule);
    return meta.name + (meta.docs.length > 0 ? ` (${meta.docs.join(" ")})` : "");
  }

  /**
   * What the chain says about the call, for `verify`, with `operator` the account that submitted the result.
   *
   * @throws TangleError no such service or call, or the operator is not registered.
   */
  async chainRecord(serviceId: bigint, callId: bigint, operator: string): Promise<ChainRecord> {
    const [service, call] = await Promise.all([this.service(serviceId), this.jobCall(serviceId, callId)]);
    if (service === null || call === null) throw new TangleError(`no job call ${callId} of service ${serviceId} on chain`, { code: "CHAIN_ERROR" });
    const preferences = await this.operatorPreferences(service.blueprint, operator);
    if (preferences === null) {
      throw new TangleError(`${operator} is not a registered operator of blueprint ${service.blueprint}`, { code: "CHAIN_ERROR" });
    }
    return {
      genesisHash: fromHex(this.api.genesisHash.toHex()),
      serviceId,
      callId,
      job: call.job,
      argsHash: blake2_256(call.argsScale),
      result: await this.jobResult(serviceId, callId),
      operator,
      operatorKey: preferences.key,
    };
  }
}

