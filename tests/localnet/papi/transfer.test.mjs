// Signing and sending with PAPI: transaction_v1_broadcast, then the transaction followed through chainHead_v1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Enum } from "polkadot-api";
import { ALICE, DAVE, connectedForTests, devSigner, watchTx } from "./lib.mjs";

const AMOUNT = 12_345_000_000_000_000n;
const session = connectedForTests();

const free = async (who) => (await session.api.query.System.Account.getValue(who, { at: "finalized" })).data.free;

test("Balances.transfer_keep_alive signed by //Alice: signed, broadcasted, found in a best block, finalized", async () => {
  const before = await free(DAVE);
  const tx = session.api.tx.Balances.transfer_keep_alive({ dest: Enum("Id", DAVE), value: AMOUNT });
  const events = await watchTx(tx, devSigner("//Alice"));
  const types = events.map((e) => (e.type === "txBestBlocksState" ? `best:${e.found}` : e.type));
  assert.deepEqual(types.filter((t) => t !== "best:false"), ["signed", "broadcasted", "best:true", "finalized"]);
  const finalized = events.at(-1);
  assert.equal(finalized.ok, true);
  assert.equal(events[0].txHash, finalized.txHash);
  const transfer = finalized.events.find((e) => e.type === "Balances" && e.value.type === "Transfer");
  assert.deepEqual(transfer.value.value, { from: ALICE, to: DAVE, amount: AMOUNT });
  assert.equal(await free(DAVE), before + AMOUNT);
  assert.deepEqual(session.warnings.warnings, []);
});

test("the fee is estimated through TransactionPaymentApi_query_info", async () => {
  const tx = session.api.tx.Balances.transfer_keep_alive({ dest: Enum("Id", DAVE), value: 1n });
  const fee = await tx.getEstimatedFees(ALICE);
  assert.ok(fee > 0n, `fee ${fee}`);
});

test("an account that cannot pay the fee is refused as a real chain refuses it (Invalid Payment)", async () => {
  const tx = session.api.tx.Balances.transfer_keep_alive({ dest: Enum("Id", DAVE), value: 1n });
  await assert.rejects(watchTx(tx, devSigner("//Alice//papi-empty-account")), (error) => {
    assert.equal(error.name, "InvalidTxError");
    assert.deepEqual(error.error, { type: "InvalidTransaction", value: { type: "Payment", value: undefined } });
    return true;
  });
});

test("a transaction with a nonce already used is refused as stale", async () => {
  const tx = session.api.tx.Balances.transfer_keep_alive({ dest: Enum("Id", DAVE), value: 1n });
  await assert.rejects(watchTx(tx, devSigner("//Alice"), { nonce: 0 }), (error) => {
    assert.equal(error.name, "InvalidTxError");
    assert.deepEqual(error.error, { type: "InvalidTransaction", value: { type: "Stale", value: undefined } });
    return true;
  });
});
