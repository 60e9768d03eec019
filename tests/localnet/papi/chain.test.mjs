// Connecting with PAPI over the new JSON-RPC spec: chain spec, runtime, storage and following blocks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Binary } from "polkadot-api";
import { firstValueFrom, filter, take, timeout, toArray } from "rxjs";
import { ALICE, connectedForTests, env } from "./lib.mjs";

const session = connectedForTests();

test("connects and reads the chain spec and metadata over chainSpec_v1 and chainHead_v1", async () => {
  const spec = await session.client.getChainSpecData();
  assert.equal(spec.name, "Tangle Localnet");
  assert.equal(spec.genesisHash, env("GENESIS_HASH"));
  assert.deepEqual(spec.properties, { ss58Format: 42, tokenDecimals: 18, tokenSymbol: "TNT" });
  // Constants decode with the metadata PAPI fetched through chainHead_v1_call (Metadata_metadata).
  assert.ok((await session.api.constants.Balances.ExistentialDeposit()) > 0n);
  assert.deepEqual(session.warnings.warnings, []);
});

test("reads System.Account of Alice", async () => {
  const account = await session.api.query.System.Account.getValue(ALICE);
  assert.ok(account.data.free > 0n, `Alice has no free balance: ${account.data.free}`);
  assert.equal(typeof account.nonce, "number");
});

test("reads the Services storage the service was bootstrapped with", async () => {
  const serviceId = BigInt(env("SERVICE_ID"));
  const blueprintId = BigInt(env("BLUEPRINT_ID"));
  // The bootstrap's blocks may not be final yet: read at the best block.
  const at = { at: "best" };
  assert.ok((await session.api.query.Services.NextJobCallId.getValue(at)) >= 0n);
  const instance = await session.api.query.Services.Instances.getValue(serviceId, at);
  assert.equal(instance.id, serviceId);
  assert.equal(instance.blueprint, blueprintId);
  assert.equal(instance.owner, ALICE);
  // Operators is a double map (blueprint, operator): its entries are paged with chainHead_v1_continue.
  const operators = await session.api.query.Services.Operators.getEntries(blueprintId, at);
  assert.deepEqual(
    operators.map((entry) => entry.keyArgs[1]),
    [env("OPERATOR_ACCOUNT")],
  );
  const [{ value: preferences }] = operators;
  assert.equal(preferences.key, env("OPERATOR_ROLE_KEY"));
  assert.equal(Binary.toText(preferences.rpc_address), env("OPERATOR_URL"));
});

test("finalizedBlock$ and blocks$ advance block by block", async () => {
  const finalized = await firstValueFrom(
    session.client.finalizedBlock$.pipe(take(3), toArray(), timeout(30_000)),
  );
  for (let i = 1; i < finalized.length; i++) {
    assert.equal(finalized[i].number, finalized[i - 1].number + 1);
    assert.equal(finalized[i].parent, finalized[i - 1].hash);
  }
  const start = finalized.at(-1).number;
  const newer = await firstValueFrom(
    session.client.blocks$.pipe(filter((block) => block.number > start + 1), timeout(30_000)),
  );
  assert.ok(newer.number > start + 1);
  const header = await session.client.getBlockHeader(newer.hash);
  assert.equal(header.number, newer.number);
  assert.equal(header.parentHash, newer.parent);
});
