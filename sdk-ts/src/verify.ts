/**
 * Offline verification of a receipt and its output against the chain's own record of the job call: the same
 * checks, in the same order and words, as `tangle-protocol/attestations/verify.py`.
 */

import { secp256k1 } from "@noble/curves/secp256k1.js";

import { type Receipt, pythonRepr, receiptHash, sha256 } from "./receipt.js";
import { sameBytes, toHex } from "./scale.js";

/** A signature is malformed or recovers to no key. */
export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SignatureError";
  }
}

/** The result fields the operator posted with `Services.submit_result`. */
export interface OnChainResult {
  receiptHash: Uint8Array;
  signature: Uint8Array;
  status: string;
  exitCode: number;
  reference: string;
}

/**
 * What the chain says about one job call. `argsHash` is blake2_256 of the exact SCALE bytes of the call's
 * `Vec<Field>` args; `result` is null while no result is on chain; `operatorKey` is the
 * `OperatorPreferences.key` of `operator`, the account that submitted the result.
 */
export interface ChainRecord {
  genesisHash: Uint8Array;
  serviceId: bigint;
  callId: bigint;
  job: number;
  argsHash: Uint8Array;
  result: OnChainResult | null;
  operator: string;
  operatorKey: Uint8Array;
}

/** The full output the operator served (text is hashed as UTF-8). */
export interface ExecutionOutput {
  stdout: Uint8Array | string;
  stderr: Uint8Array | string;
}

/** The outcome: `ok` when nothing disagrees; otherwise `reasons` says what, in words. */
export interface Verification {
  ok: boolean;
  reasons: string[];
  receiptHash: Uint8Array;
  signerKey: Uint8Array | null;
}

/** What the operator's REST endpoint claimed, compared with the chain when given. */
export interface Served {
  receiptHash?: Uint8Array | null;
  signature?: Uint8Array | null;
}

/**
 * The 65-byte uncompressed public key that signed `messageHash` (v may be 0/1 or 27/28).
 *
 * @throws SignatureError the signature is malformed or recovers to no key.
 */
export function recoverPublicKey(messageHash: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== 65) throw new SignatureError(`a signature is 65 bytes r||s||v, not ${signature.length}`);
  if (messageHash.length !== 32) throw new SignatureError("only 32-byte hashes are signed");
  const last = signature[64] as number;
  const v = last >= 27 ? last - 27 : last;
  try {
    if (v !== 0 && v !== 1) throw new Error(`the recovery id ${v} is not 0 or 1`);
    const parsed = secp256k1.Signature.fromBytes(signature.subarray(0, 64), "compact").addRecoveryBit(v);
    return parsed.recoverPublicKey(messageHash).toBytes(false);
  } catch (error) {
    throw new SignatureError(`no public key recovers from the signature: ${(error as Error).message}`);
  }
}

/** Check `receipt` and `output` against `record`; never throws for a bad attestation. */
export function verify(receipt: Receipt, output: ExecutionOutput, record: ChainRecord, served: Served = {}): Verification {
  const computed = receiptHash(receipt);
  const reasons = [...identityReasons(receipt, record), ...outputReasons(receipt, output)];
  let signer: Uint8Array | null = null;
  const result = record.result;
  if (result === null) {
    reasons.push(`the chain has no result for call ${record.callId} of service ${record.serviceId}`);
  } else {
    const [key, signatureProblems] = signatureReasons(computed, result, record);
    signer = key;
    reasons.push(...signatureProblems, ...summaryReasons(receipt, result));
    if (served.receiptHash != null && !sameBytes(served.receiptHash, result.receiptHash)) {
      reasons.push("the receipt hash the operator served differs from the one on chain");
    }
    if (served.signature != null && !sameBytes(served.signature, result.signature)) {
      reasons.push("the signature the operator served differs from the one on chain");
    }
  }
  return { ok: reasons.length === 0, reasons, receiptHash: computed, signerKey: signer };
}

function identityReasons(receipt: Receipt, record: ChainRecord): string[] {
  const reasons: string[] = [];
  if (!sameBytes(receipt.chainId, record.genesisHash)) {
    reasons.push(
      `chain id mismatch: the receipt is for chain ${toHex(receipt.chainId)}, the chain's genesis is ${toHex(record.genesisHash)}`,
    );
  }
  const ids = [["service_id", receipt.serviceId, record.serviceId], ["call_id", receipt.callId, record.callId], ["job", receipt.job, record.job]] as const;
  for (const [name, mine, theirs] of ids) {
    if (BigInt(mine) !== BigInt(theirs)) reasons.push(`${name} mismatch: the receipt says ${mine}, the chain says ${theirs}`);
  }
  if (!sameBytes(receipt.argsHash, record.argsHash)) {
    reasons.push("args hash mismatch: the receipt's args_hash is not the hash of the chain's job call args");
  }
  if (!sameBytes(receipt.operatorKey, record.operatorKey)) {
    reasons.push("the receipt names an operator key other than the operator's registered key");
  }
  return reasons;
}

function outputReasons(receipt: Receipt, output: ExecutionOutput): string[] {
  const reasons: string[] = [];
  if (!sameBytes(sha256(output.stdout), receipt.stdoutSha256)) {
    reasons.push("stdout hash mismatch: the stdout served does not hash to the receipt's stdout_sha256");
  }
  if (!sameBytes(sha256(output.stderr), receipt.stderrSha256)) {
    reasons.push("stderr hash mismatch: the stderr served does not hash to the receipt's stderr_sha256");
  }
  return reasons;
}

function signatureReasons(computed: Uint8Array, result: OnChainResult, record: ChainRecord): [Uint8Array | null, string[]] {
  const reasons: string[] = [];
  if (!sameBytes(result.receiptHash, computed)) {
    reasons.push(`receipt hash mismatch: the receipt hashes to ${toHex(computed)}, the chain's result has ${toHex(result.receiptHash)}`);
  }
  let signer: Uint8Array;
  try {
    signer = recoverPublicKey(computed, result.signature);
  } catch (error) {
    if (!(error instanceof SignatureError)) throw error;
    return [null, [...reasons, `the on-chain signature is unusable: ${error.message}`]];
  }
  if (!sameBytes(signer, record.operatorKey)) {
    reasons.push(
      `the signature does not recover to the registered key of operator ${record.operator} (signed by another key, or over other data)`,
    );
  }
  return [signer, reasons];
}

function summaryReasons(receipt: Receipt, result: OnChainResult): string[] {
  const reasons: string[] = [];
  if (result.exitCode !== receipt.exitCode) {
    reasons.push(`exit code mismatch: the receipt says ${receipt.exitCode}, the chain ${result.exitCode}`);
  }
  if (result.status !== receipt.status) {
    reasons.push(`status mismatch: the receipt says ${pythonRepr(receipt.status)}, the chain ${pythonRepr(result.status)}`);
  }
  return reasons;
}
