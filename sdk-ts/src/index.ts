/**
 * `@faas/sdk`: the FaaS REST API and its output streams.
 *
 * ```ts
 * import { FaaSClient } from "@faas/sdk";
 * const client = new FaaSClient({ apiKey: process.env.FAAS_API_KEY, endpoint: "https://api.faas.platform" });
 * const execution = await client.execute({ code: "print('hi')", language: "python" });
 * ```
 */

export { FaaSClient, DEFAULT_ENDPOINT, DEFAULT_TIMEOUT_MS, type FaaSClientOptions } from "./client.js";
export { ExecutionStream, type StreamEventName, type StreamListeners } from "./stream.js";
export type { Snapshots, CreateSnapshotOptions, ListSnapshotsOptions } from "./snapshots.js";
export type { Branches, CreateBranchOptions, ListBranchesOptions, MergeOptions } from "./branches.js";
export type { Instances } from "./instances.js";
export type { InstanceFiles } from "./instance-files.js";
export type { Usage, UsagePeriod } from "./usage.js";
export type { FetchLike } from "./http.js";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";
export { packFiles, unpackFiles, type FileMap } from "./tar.js";
export { SDK_VERSION } from "./version.js";
export {
  AuthenticationError,
  ConflictError,
  ExecutionTimeoutError,
  FaaSConnectionError,
  FaaSError,
  InsufficientResourcesError,
  InternalServerError,
  InvalidRequestError,
  InvalidResponseError,
  NotFoundError,
  PaymentRequiredError,
  PermissionDeniedError,
  RateLimitError,
  type Details,
} from "./errors.js";
export type * from "./models.js";
export { TangleFaaSClient, type TangleFaaSClientOptions, type VerifiedResult } from "./tangle.js";
export { ChainRejectedError, TangleError, TangleTimeoutError, VerificationError } from "./tangle-errors.js";
export { mayCall, type OperatorPreferences, type ServiceInstance, type JobResultEvent, type KeyringPair } from "./tangle-chain.js";
export { type ChainRecord, type ExecutionOutput, type OnChainResult, type Verification, SignatureError, recoverPublicKey, verify } from "./verify.js";
export { DOMAIN_TAG, type Receipt, ReceiptFormatError, blake2_256, encodeReceipt, receiptFromJson, receiptHash, receiptToJson, sha256 } from "./receipt.js";
export { parseJson, JsonSyntaxError, type JsonValue } from "./receipt-json.js";
export { type Field, type FieldType, FieldError, decodeFields, encodeFields } from "./fields.js";
export { JOBS, type ExecuteJobOptions, type JobArgs, type JobResult, type JobSpec, decodeJobArgs, decodeResult, encodeJobArgs, encodeResult, executeJobArgs } from "./fields-jobs.js";
