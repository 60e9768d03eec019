/**
 * Every vector of tangle-protocol/attestations/receipt_vectors.json (written by Python's
 * `python -m attestations.vectors`) read back by the TypeScript SDK: the same bytes, hashes, keys and reasons.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { FieldError, decodeFields, encodeFields } from "../src/fields.js";
import { decodeJobArgs, decodeResult, encodeJobArgs, encodeResult, executeJobArgs, jobSpec } from "../src/fields-jobs.js";
import { type JsonValue, parseJson } from "../src/receipt-json.js";
import { ReceiptFormatError, blake2_256, encodeReceipt, receiptFromJson, receiptHash, receiptToJson } from "../src/receipt.js";
import { fromHex, toHex } from "../src/scale.js";
import { type ChainRecord, recoverPublicKey, verify } from "../src/verify.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const VECTORS_URL = new URL("../../tangle-protocol/attestations/receipt_vectors.json", import.meta.url);
const vectors = parseJson(readFileSync(VECTORS_URL, "utf8")) as Json;
const UNUSABLE = "the on-chain signature is unusable: no public key recovers from the signature: ";

function onChainResult(result: Json | null): ChainRecord["result"] {
  if (result === null) return null;
  return {
    receiptHash: fromHex(result.receipt_hash),
    signature: fromHex(result.signature),
    status: result.status,
    exitCode: Number(result.exit_code),
    reference: result.reference,
  };
}

function chainRecord(record: Json): ChainRecord {
  return {
    genesisHash: fromHex(record.genesis_hash),
    serviceId: record.service_id,
    callId: record.call_id,
    job: Number(record.job),
    argsHash: fromHex(record.args_hash),
    result: onChainResult(record.result),
    operator: record.operator,
    operatorKey: fromHex(record.operator_key),
  };
}

/** Reasons from the secp256k1 library itself carry that library's words after a fixed prefix. */
function comparable(reason: string): string {
  return reason.startsWith(UNUSABLE) ? UNUSABLE : reason;
}

describe("receipts", () => {
  for (const vector of vectors.receipts as Json[]) {
    test(`${vector.name}: encoding, hash and signer`, () => {
      const receipt = receiptFromJson(vector.receipt as JsonValue);
      assert.deepEqual(receiptToJson(receipt), vector.receipt);
      assert.equal(toHex(encodeReceipt(receipt)), vector.encoding);
      assert.equal(toHex(receiptHash(receipt)), vector.hash);
      assert.equal(toHex(recoverPublicKey(fromHex(vector.hash), fromHex(vector.signature))), vector.public_key);
    });
  }

  test("u64::MAX survives the JSON round trip exactly", () => {
    const maxIds = (vectors.receipts as Json[]).find((vector) => vector.name === "max_ids") as Json;
    const receipt = receiptFromJson(maxIds.receipt as JsonValue);
    assert.equal(receipt.serviceId, 2n ** 64n - 1n);
    assert.equal(receipt.job, 255);
  });

  test("a v of 27/28 recovers the same key", () => {
    const vector = (vectors.receipts as Json[])[0] as Json;
    const signature = fromHex(vector.signature);
    signature[64] = (signature[64] as number) + 27;
    assert.equal(toHex(recoverPublicKey(fromHex(vector.hash), signature)), vector.public_key);
  });
});

describe("job arguments", () => {
  for (const vector of vectors.job_args as Json[]) {
    test(`${vector.name}: Vec<Field> bytes, decoded texts, args hash`, () => {
      const job = Number(vector.job);
      const bytes = fromHex(vector.fields_scale);
      assert.deepEqual(decodeJobArgs(job, bytes), vector.args);
      assert.equal(toHex(encodeJobArgs(job, vector.args)), vector.fields_scale);
      assert.equal(toHex(encodeFields(decodeFields(bytes))), vector.fields_scale);
      assert.equal(toHex(blake2_256(bytes)), vector.args_hash);
      assert.deepEqual(jobSpec(job).params.map(([name]) => name), Object.keys(vector.args));
    });
  }

  for (const vector of (vectors.job_args as Json[]).filter((item) => Number(item.job) === 0)) {
    test(`${vector.name}: submitJob's options encode as Python's ExecuteJob does`, () => {
      const args = vector.args as Record<string, string | null>;
      const object = (text: string | null) => (text ? (parseJson(text) as Record<string, never>) : undefined);
      const options = {
        language: args.language as string,
        code: args.code as string,
        mode: args.mode as string,
        resources: object(args.resources as string),
        env: object(args.env as string),
        files: object(args.files as string),
        snapshotId: args.snapshot_id,
        branchId: args.branch_id,
      };
      assert.deepEqual(executeJobArgs(options), args);
      assert.equal(toHex(encodeJobArgs(0, executeJobArgs(options))), vector.fields_scale);
    });
  }

  for (const vector of vectors.refused_job_args as Json[]) {
    test(`${vector.name}: refused before the chain, in the same words`, () => {
      assert.throws(() => encodeJobArgs(Number(vector.job), vector.args), (error: unknown) => {
        assert.ok(error instanceof FieldError);
        assert.equal(error.message, vector.error);
        return true;
      });
    });
  }
});

describe("job results", () => {
  for (const vector of vectors.results as Json[]) {
    test(`${vector.name}: Vec<Field> bytes and values`, () => {
      const result = decodeResult(fromHex(vector.fields_scale));
      assert.deepEqual(result, onChainResult(vector.result));
      assert.equal(toHex(encodeResult(result)), vector.fields_scale);
    });
  }
});

describe("verification", () => {
  for (const vector of vectors.verifications as Json[]) {
    test(`${vector.name}: ${vector.reasons.length === 0 ? "verifies" : "the same reasons, in order"}`, () => {
      const served = vector.served as Json;
      const outcome = verify(receiptFromJson(vector.receipt as JsonValue), vector.output, chainRecord(vector.chain_record), {
        receiptHash: served.served_receipt_hash === undefined ? null : fromHex(served.served_receipt_hash),
        signature: served.served_signature === undefined ? null : fromHex(served.served_signature),
      });
      assert.deepEqual(outcome.reasons.map(comparable), (vector.reasons as string[]).map(comparable));
      assert.equal(outcome.ok, vector.reasons.length === 0);
      assert.equal(outcome.signerKey === null ? null : toHex(outcome.signerKey), vector.signer_key);
    });
  }
});

describe("malformed receipts", () => {
  for (const vector of vectors.malformed_receipts as Json[]) {
    test(`${vector.name}: refused in the same words`, () => {
      assert.throws(() => receiptFromJson(vector.receipt as JsonValue), (error: unknown) => {
        assert.ok(error instanceof ReceiptFormatError);
        assert.equal(error.message, vector.error);
        return true;
      });
    });
  }
});
