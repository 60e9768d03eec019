/**
 * TangleFaaSClient against a real localnet and a real `faas operator` (started by
 * tests/sdk_ts/test_tangle_client.py, which passes the endpoints below). By hand: start them yourself and set
 * LOCALNET_URL, BLUEPRINT_ID, SERVICE_ID, FORGED_SERVICE_ID, TAMPERED_SERVICE_ID, TAMPER_PROXY_PORT,
 * OPERATOR_URL, OPERATOR_ROLE_KEY, OPERATOR_ACCOUNT and CALLER_SEED.
 */

import assert from "node:assert/strict";
import { type Server, createServer } from "node:http";
import { after, before, describe, test } from "node:test";

import { TangleError, TangleFaaSClient, TangleTimeoutError, VerificationError, parseJson } from "../../src/index.js";
import { toHex } from "../../src/scale.js";

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`set ${name} (tests/sdk_ts/test_tangle_client.py does)`);
  return value;
}

const rpcUrl = env("LOCALNET_URL");
const seed = env("CALLER_SEED");
const operatorUrl = env("OPERATOR_URL");
const RESULT_TIMEOUT_MS = 180_000;

/** Run `use` with a client on `serviceId`, closing it whatever happens. */
async function withClient(serviceId: string, use: (client: TangleFaaSClient) => Promise<void>): Promise<void> {
  const client = new TangleFaaSClient({ rpcUrl, serviceId: Number(env(serviceId)), seed });
  try {
    await use(client);
  } finally {
    await client.close();
  }
}

/** Serves the operator's REST answers with stdout changed: what a dishonest middleman (or operator) would do. */
function tamperingProxy(port: number): Promise<Server> {
  const server = createServer((request, response) => {
    void (async () => {
      const upstream = await fetch(operatorUrl + (request.url ?? "/"));
      const body = await upstream.text();
      let text = body;
      if (upstream.status === 200 && (request.url ?? "").startsWith("/api/v1/jobs/")) {
        text = body.replace(/"stdout":\s*"((?:[^"\\]|\\.)*)"/, (_, stdout: string) => `"stdout": "${stdout}tampered\\n"`);
      }
      response.writeHead(upstream.status, { "content-type": "application/json" });
      response.end(text);
    })().catch((error: unknown) => {
      response.writeHead(502);
      response.end(String(error));
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

describe("TangleFaaSClient on a localnet with a real operator", () => {
  let proxy: Server;
  before(async () => {
    proxy = await tamperingProxy(Number(env("TAMPER_PROXY_PORT")));
  });
  after(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

  test("the API.md example: submitJob by blueprintId, waitForResult gives the verified output", async () => {
    const client = new TangleFaaSClient({ rpcUrl, blueprintId: Number(env("BLUEPRINT_ID")), seed });
    try {
      // Submit job on-chain
      const jobId = await client.submitJob({ code: 'console.log("Verified execution")', language: "javascript" });
      // Wait for result
      const result = await client.waitForResult(jobId, { timeoutMs: RESULT_TIMEOUT_MS });
      console.log("Verified result:", result.stdout, result.status);
      assert.equal((await client.service()).id, BigInt(env("SERVICE_ID")));
      assert.deepEqual([result.stdout, result.status, result.exitCode], ["Verified execution\n", "completed", 0]);
      assert.equal(result.callId, jobId);
      assert.equal(result.receipt.callId, jobId);
      assert.equal(result.operator, env("OPERATOR_ACCOUNT"));
      assert.equal(toHex(result.receipt.operatorKey), env("OPERATOR_ROLE_KEY"));
    } finally {
      await client.close();
    }
  });

  test("by serviceId, and what the operator serves matches the verified result", async () => {
    await withClient("SERVICE_ID", async (client) => {
      const code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)";
      const callId = await client.submitJob({ code, language: "python" });
      const result = await client.waitForResult(callId, { timeoutMs: RESULT_TIMEOUT_MS });
      assert.deepEqual([result.stdout, result.stderr, result.exitCode, result.status], ["out\n", "err\n", 3, "failed"]);
      const answer = await fetch(`${operatorUrl}/api/v1/jobs/${env("SERVICE_ID")}/${callId}`);
      const served = parseJson(await answer.text()) as Record<string, unknown>;
      assert.equal(served["receipt_hash"], toHex(result.receiptHash));
      assert.equal(served["signature"], toHex(result.signature));
      // A fresh client without a key (nothing remembered about the submission) verifies the same result.
      const reader = new TangleFaaSClient({ rpcUrl, serviceId: Number(env("SERVICE_ID")) });
      try {
        assert.equal((await reader.waitForResult(callId, { timeoutMs: 30_000 })).stdout, "out\n");
        const refused = (error: unknown) => error instanceof TangleError && error.code === "NO_KEY";
        await assert.rejects(reader.submitJob({ code: "1", language: "python" }), refused);
      } finally {
        await reader.close();
      }
    });
  });

  test("a tampered output is refused with the stdout hash mismatch", async () => {
    await withClient("TAMPERED_SERVICE_ID", async (client) => {
      const callId = await client.submitJob({ code: "print('honest')", language: "python" });
      await assert.rejects(client.waitForResult(callId, { timeoutMs: RESULT_TIMEOUT_MS }), (error: unknown) => {
        assert.ok(error instanceof VerificationError, String(error));
        assert.equal(error.code, "VERIFICATION_FAILED");
        assert.deepEqual(error.reasons, ["stdout hash mismatch: the stdout served does not hash to the receipt's stdout_sha256"]);
        return true;
      });
    });
  });

  test("a signature by a key other than the operator's registered role key is refused", async () => {
    await withClient("FORGED_SERVICE_ID", async (client) => {
      const callId = await client.submitJob({ code: "print('signed by the wrong key')", language: "python" });
      await assert.rejects(client.waitForResult(callId, { timeoutMs: RESULT_TIMEOUT_MS }), (error: unknown) => {
        assert.ok(error instanceof VerificationError, String(error));
        assert.deepEqual(error.reasons, [
          "the receipt names an operator key other than the operator's registered key",
          `the signature does not recover to the registered key of operator ${env("OPERATOR_ACCOUNT")} ` +
            "(signed by another key, or over other data)",
        ]);
        return true;
      });
    });
  });

  test("no result within the timeout is a TangleTimeoutError", async () => {
    await withClient("SERVICE_ID", async (client) => {
      const callId = await client.submitJob({ code: "import time; time.sleep(8); print('late')", language: "python" });
      const started = Date.now();
      await assert.rejects(client.waitForResult(callId, { timeoutMs: 1500 }), (error: unknown) => {
        assert.ok(error instanceof TangleTimeoutError, String(error));
        assert.equal(error.code, "EXECUTION_TIMEOUT");
        assert.match(error.message, new RegExp(`no finalized result for call ${callId} of service`));
        return true;
      });
      assert.ok(Date.now() - started < 6000, "the timeout was not honoured");
    });
  });

  test("an unknown service and a chain that is not there are typed errors", async () => {
    const unknown = new TangleFaaSClient({ rpcUrl, serviceId: 999 });
    await assert.rejects(unknown.service(), (error: unknown) => error instanceof TangleError && error.code === "NOT_FOUND");
    await unknown.close();
    const nowhere = new TangleFaaSClient({ rpcUrl: "ws://127.0.0.1:9", serviceId: 0, connectTimeoutMs: 5000 });
    await assert.rejects(nowhere.service(), (error: unknown) => error instanceof TangleError && error.code === "CONNECTION_ERROR");
    await nowhere.close();
  });
});
