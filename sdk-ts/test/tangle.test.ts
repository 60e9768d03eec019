/**
 * How TangleFaaSClient judges an operator's REST answer (`verified`), on the honest vector of
 * receipt_vectors.json turned into the body an operator serves: what passes, and every way it is refused.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { type JsonValue, parseJson } from "../src/receipt-json.js";
import { fromHex } from "../src/scale.js";
import type { JobResultEvent } from "../src/tangle-chain.js";
import { VerificationError } from "../src/tangle-errors.js";
import { TangleFaaSClient, verified } from "../src/tangle.js";
import type { ChainRecord } from "../src/verify.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const vectors = parseJson(readFileSync(new URL("../../tangle-protocol/attestations/receipt_vectors.json", import.meta.url), "utf8")) as Json;
const honest = (vectors.verifications as Json[]).find((vector) => vector.name === "honest") as Json;
const onChain = honest.chain_record.result as Json;

const record: ChainRecord = {
  genesisHash: fromHex(honest.chain_record.genesis_hash),
  serviceId: honest.chain_record.service_id,
  callId: honest.chain_record.call_id,
  job: Number(honest.chain_record.job),
  argsHash: fromHex(honest.chain_record.args_hash),
  result: {
    receiptHash: fromHex(onChain.receipt_hash),
    signature: fromHex(onChain.signature),
    status: onChain.status,
    exitCode: Number(onChain.exit_code),
    reference: onChain.reference,
  },
  operator: honest.chain_record.operator,
  operatorKey: fromHex(honest.chain_record.operator_key),
};
const event: JobResultEvent = {
  blockNumber: 12,
  blockHash: "0x" + "12".repeat(32),
  serviceId: record.serviceId,
  callId: record.callId,
  job: 0,
  operator: record.operator,
  result: record.result!,
};

function body(changes: Record<string, JsonValue> = {}, output: Record<string, JsonValue> = {}): Record<string, JsonValue> {
  return {
    status: "completed",
    receipt: honest.receipt,
    receipt_hash: onChain.receipt_hash,
    signature: onChain.signature,
    output: { stdout: honest.output.stdout, stderr: honest.output.stderr, exit_code: 0n, ...output },
    ...changes,
  };
}

function refusal(served: Record<string, JsonValue>): string[] {
  try {
    verified(event, served, record);
  } catch (error) {
    assert.ok(error instanceof VerificationError);
    assert.equal(error.code, "VERIFICATION_FAILED");
    assert.deepEqual(error.details, { reasons: error.reasons });
    return error.reasons;
  }
  assert.fail("the answer verified");
}

describe("the operator's answer", () => {
  test("an honest answer gives the verified result", () => {
    const result = verified(event, body(), record);
    assert.deepEqual([result.stdout, result.stderr, result.exitCode, result.status], ["1\n", "", 0, "completed"]);
    assert.equal(result.reference, onChain.reference);
    assert.equal(result.blockHash, event.blockHash);
  });

  test("an exit code other than the receipt's is refused", () => {
    assert.deepEqual(refusal(body({}, { exit_code: 1n })), ["the exit code the operator served differs from its receipt's"]);
  });

  test("a malformed receipt is one reason naming the problem", () => {
    const receipt = { ...(honest.receipt as Json), code_hash: "0x00" };
    assert.deepEqual(refusal(body({ receipt })), ["the operator served a malformed receipt: code_hash must be 32 bytes"]);
  });

  test("no receipt at all is a malformed receipt", () => {
    const [reason] = refusal(body({ receipt: null }));
    assert.match(reason as string, /^the operator served a malformed receipt: receipt fields differ: missing \['args_hash', /);
  });

  test("a served hash or signature other than the chain's is refused, unreadable ones are ignored", () => {
    assert.deepEqual(refusal(body({ receipt_hash: "0x" + "00".repeat(32) })), [
      "the receipt hash the operator served differs from the one on chain",
    ]);
    assert.equal(verified(event, body({ receipt_hash: "not hex", signature: 7n }), record).stdout, "1\n");
  });

  test("tampered stdout and stderr are each a reason", () => {
    assert.deepEqual(refusal(body({}, { stdout: "2\n", stderr: "x" })), [
      "stdout hash mismatch: the stdout served does not hash to the receipt's stdout_sha256",
      "stderr hash mismatch: the stderr served does not hash to the receipt's stderr_sha256",
    ]);
  });
});

describe("TangleFaaSClient options", () => {
  test("exactly one of serviceId and blueprintId", () => {
    assert.throws(() => new TangleFaaSClient({ rpcUrl: "ws://127.0.0.1:9" }), TypeError);
    assert.throws(() => new TangleFaaSClient({ rpcUrl: "ws://127.0.0.1:9", serviceId: 1, blueprintId: 1 }), TypeError);
  });
});
