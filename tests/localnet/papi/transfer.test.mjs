// Signing and sending with PAPI: transaction_v1_broadcast, then the transaction followed through chainHead_v1.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Enum } from "polkadot-api";
import { connect, devSigner, watchTx, watchWarnings } from "./lib.mjs";

const ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const DAVE = "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy";
const AMOUNT = 12_345_000_000_000_000n;
let client, api, warnings;

before(() => {
  warnings = watchWarnings();
  ({ client, api } = connect());
});
after(() => {
  client?.destroy();
  warnings.restore();
});

const free = async (who) => (await api.query.System.Account.getValue(who, { at: "finalized" })).data.free;

test("Balances.transfer_keep_alive signed by //Alice: signed, broadcasted, found in a best block, finalized", async () => {
  const before = await free(DAVE);
  const tx = api.tx.Balances.transfer_keep_alive({ dest: Enum("Id", DAVE), value: AMOUNT });
  const { seen, done } = watchTx(tx, devSigner("//Alice"));
  const events = await done;
  const types = events.map((e) => (e.type === "txBestBlocksState" ? `best:${e.found}` : e.type));
  assert.deepEqual(types.filter((t) => t !== "best:false"), ["signed", "broadcasted", "best:true", "finalized"]);
  const finalized = events.at(-1);
  assert.equal(finalized.ok, true);
  assert.equal(seen[0].txHash, finalized.txHash);
  const transfer = finalized.events.find((e) => e.type === "Balances" && e.value.type === "Transfer");
  assert.deepEqual(transfer.value.value, { from: ALICE, to: DAVE, amount: AMOUNT });
  assert.equal(await free(DAVE), before + AMOUNT);
  assert.deepEqual(warnings.warnings, []);
});

test("the fee is estimated through TransactionPaymentApi_query_info", async () => {
  const tx = api.tx.Balances.transfer_keep_alive({ dest: Enum("Id", DAVE), value: 1n });
  const fee = await tx.getEstimatedFees(ALICE);
  assert.ok(fee > 0n, `fee ${fee}`);
});

test("an account that cannot pay the fee is refused as a real chain refuses it (Invalid Payment)", async () => {
  const tx = api.tx.Balances.transfer_keep_alive({ dest: Enum("Id", DAVE), value: 1n });
  const { done } = watchTx(tx, devSigner("//Alice//papi-empty-account"));
  await assert.rejects(done, (error) => {
    assert.equal(error.name, "InvalidTxError");
    assert.deepEqual(error.error, { type: "InvalidTransaction", value: { type: "Payment", value: undefined } });
    return true;
  });
});

test("a transaction with a nonce already used is refused as stale", async () => {
  const tx = api.tx.Balances.transfer_keep_alive({ dest: Enum("Id", DAVE), value: 1n });
  const { done } = watchTx(tx, devSigner("//Alice"), { nonce: 0 });
  await assert.rejects(done, (error) => {
    assert.equal(error.name, "InvalidTxError");
    assert.deepEqual(error.error, { type: "InvalidTransaction", value: { type: "Stale", value: undefined } });
    return true;
  });
});
