// Building, signing and sending with polkadot.js: fees, nonces, the status sequence, and the node's refusals.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { connectForFile, dev, send, signAndWatch } from './connect.mjs';

const chain = connectForFile();
const alice = dev('Alice');
const charlie = dev('Charlie');
const AMOUNT = 3n * 10n ** 18n;

const free = async (who) => (await chain.api.query.system.account(who.address)).data.free.toBigInt();

test('transferKeepAlive signed by //Alice: Ready → InBlock → Finalized, and the balances move by amount and fee', async () => {
  const tx = chain.api.tx.balances.transferKeepAlive(charlie.address, AMOUNT);
  const info = await tx.paymentInfo(alice);
  assert.ok(info.partialFee.toBigInt() > 0n);
  assert.ok(info.weight.refTime.toBigInt() > 0n);
  // An unsigned extrinsic pays nothing; the same call signed (not sent) pays base + length + weight fee.
  assert.ok((await chain.api.rpc.payment.queryFeeDetails(tx.toHex())).inclusionFee.isNone);
  const signed = await chain.api.tx.balances.transferKeepAlive(charlie.address, AMOUNT).signAsync(alice);
  const inclusion = (await chain.api.rpc.payment.queryFeeDetails(signed.toHex())).inclusionFee.unwrap();
  const parts = inclusion.baseFee.toBigInt() + inclusion.lenFee.toBigInt() + inclusion.adjustedWeightFee.toBigInt();
  assert.equal(parts, info.partialFee.toBigInt());
  const runtime = await chain.api.call.transactionPaymentApi.queryFeeDetails(signed.toHex(), signed.encodedLength);
  assert.deepEqual(runtime.toJSON(), (await chain.api.rpc.payment.queryFeeDetails(signed.toHex())).toJSON());

  const [aliceBefore, charlieBefore] = [await free(alice), await free(charlie)];
  const { statuses, result } = await signAndWatch(tx, alice);
  assert.deepEqual(statuses.filter((s) => s !== 'Broadcast'), ['Ready', 'InBlock', 'Finalized']);
  assert.ok(result.dispatchError === undefined, 'dispatched without error');

  const names = result.events.map(({ event }) => `${event.section}.${event.method}`);
  assert.deepEqual(names, ['balances.Withdraw', 'balances.Transfer', 'system.ExtrinsicSuccess']);
  const fee = result.events[0].event.data.amount.toBigInt();
  const transfer = result.events[1].event.data;
  assert.equal(transfer.from.toString(), alice.address);
  assert.equal(transfer.to.toString(), charlie.address);
  assert.equal(transfer.amount.toBigInt(), AMOUNT);
  // paymentInfo priced the same call with a dummy signature: same length, same fee
  assert.equal(fee, info.partialFee.toBigInt());

  const at = await chain.api.at(result.status.asFinalized);
  const charlieAt = (await at.query.system.account(charlie.address)).data.free.toBigInt();
  const aliceAt = (await at.query.system.account(alice.address)).data.free.toBigInt();
  assert.equal(charlieAt - charlieBefore, AMOUNT);
  assert.equal(aliceBefore - aliceAt, AMOUNT + fee);
});

test('accountNextIndex counts what is in the pool; the nonce in System.Account what is included', async () => {
  const next = (await chain.api.rpc.system.accountNextIndex(alice.address)).toNumber();
  assert.equal(next, (await chain.api.query.system.account(alice.address)).nonce.toNumber());
  const tx = chain.api.tx.system.remarkWithEvent('pending');
  const sent = send(tx, alice, { nonce: next });
  await sent.ready;
  // the pool now holds it (or it is already in a block): either way the next index moved on
  const after = (await chain.api.rpc.system.accountNextIndex(alice.address)).toNumber();
  assert.equal(after, next + 1);
  const { result } = await sent.finalized;
  const remarked = result.events.find(({ event }) => event.method === 'Remarked');
  assert.equal(remarked.event.data.sender.toString(), alice.address);
});

test('a bad signature is refused with the node’s 1010 error', async () => {
  const tx = chain.api.tx.balances.transferKeepAlive(charlie.address, 1n);
  await tx.signAsync(alice);
  const hex = tx.toHex();
  const bytes = Buffer.from(hex.slice(2), 'hex');
  bytes[40] ^= 0xff; // inside the 64-byte sr25519 signature
  chain.expectLogged(/1010: Invalid Transaction: Transaction has a bad signature/);
  await assert.rejects(
    chain.api.rpc.author.submitExtrinsic(`0x${bytes.toString('hex')}`),
    /1010: Invalid Transaction: Transaction has a bad signature/,
  );
  const validity = await chain.api.call.taggedTransactionQueue.validateTransaction(
    'External',
    `0x${bytes.toString('hex')}`,
    await chain.api.rpc.chain.getBlockHash(),
  );
  assert.ok(validity.isErr && validity.asErr.isInvalid && validity.asErr.asInvalid.isBadProof);
});

test('a stale nonce is refused with the node’s 1010 error', async () => {
  const tx = chain.api.tx.balances.transferKeepAlive(charlie.address, 1n);
  chain.expectLogged(/1010: Invalid Transaction: Transaction is outdated/);
  await assert.rejects(signAndWatch(tx, alice, { nonce: 0 }), /1010: Invalid Transaction: Transaction is outdated/);
});

test('a future nonce waits in the pool as Future, then goes in when the gap is filled', async () => {
  const next = (await chain.api.rpc.system.accountNextIndex(alice.address)).toNumber();
  const later = signAndWatch(chain.api.tx.system.remark('second'), alice, { nonce: next + 1 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const first = signAndWatch(chain.api.tx.system.remark('first'), alice, { nonce: next });
  const [a, b] = await Promise.all([first, later]);
  assert.deepEqual(a.statuses, ['Ready', 'InBlock', 'Finalized']);
  assert.deepEqual(b.statuses, ['Future', 'Ready', 'InBlock', 'Finalized']);
});
