// Reading state as a Tangle developer would: System.Account, the Services pallet's storage, subscriptions.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BLUEPRINT_ID, OPERATOR_ACCOUNT, OPERATOR_URL, SERVICE_ID, connectForFile, dev, until } from './connect.mjs';

const chain = connectForFile();

test('System.Account of Alice: an endowed dev account', async () => {
  const account = await chain.api.query.system.account(dev('Alice').address);
  assert.ok(account.data.free.toBigInt() > 10n ** 20n);
  assert.equal(account.data.reserved.toBigInt(), 0n);
  assert.equal(account.providers.toNumber(), 1);
  const nonce = await chain.api.rpc.system.accountNextIndex(dev('Alice').address);
  assert.ok(nonce.toNumber() >= account.nonce.toNumber());
  const viaRuntime = await chain.api.call.accountNonceApi.accountNonce(dev('Alice').address);
  assert.equal(viaRuntime.toNumber(), account.nonce.toNumber());
});

test('Services storage: the blueprint, the operator, the service instance and the call counter', async () => {
  const entry = await chain.api.query.services.blueprints(BLUEPRINT_ID);
  assert.ok(entry.isSome, 'Blueprints(blueprint_id) exists');
  const [owner, blueprint] = entry.unwrap();
  assert.equal(owner.toString(), dev('Alice').address);
  const jobs = blueprint.jobs.map((job) => job.metadata.name.toUtf8());
  assert.equal(jobs[0], 'execute');

  const preferences = await chain.api.query.services.operators(BLUEPRINT_ID, OPERATOR_ACCOUNT);
  assert.ok(preferences.isSome, 'Operators(blueprint_id, operator) exists');
  assert.equal(preferences.unwrap().rpcAddress.toUtf8(), OPERATOR_URL);

  const instance = await chain.api.query.services.instances(SERVICE_ID);
  assert.ok(instance.isSome, 'Instances(service_id) exists');
  assert.equal(instance.unwrap().blueprint.toNumber(), BLUEPRINT_ID);
  const operators = instance.unwrap().operatorSecurityCommitments.map(([who]) => who.toString());
  assert.deepEqual(operators, [OPERATOR_ACCOUNT]);

  const next = await chain.api.query.services.nextJobCallId();
  assert.equal(typeof next.toNumber(), 'number');
  const all = await chain.api.query.services.instances.entries();
  assert.ok(all.some(([key]) => key.args[0].toNumber() === SERVICE_ID));
});

test('finalized heads advance, and new heads come before them', async () => {
  const numbers = [];
  await until(
    (cb) => chain.api.rpc.chain.subscribeFinalizedHeads(cb),
    (header) => numbers.push(header.number.toNumber()) >= 3,
  );
  assert.ok(numbers[2] > numbers[0], `finalized ${numbers}`);
  const finalized = (await chain.api.rpc.chain.getHeader(await chain.api.rpc.chain.getFinalizedHead())).number.toNumber();
  const best = (await chain.api.rpc.chain.getHeader()).number.toNumber();
  assert.ok(best >= finalized);
  const all = await until((cb) => chain.api.rpc.chain.subscribeAllHeads(cb), () => true);
  assert.ok(all.number.toNumber() >= finalized);
});

test('a storage subscription sees a value as it changes (Timestamp.Now every block)', async () => {
  const seen = [];
  await until(
    (cb) => chain.api.query.timestamp.now(cb),
    (now) => seen.push(now.toNumber()) >= 2,
  );
  assert.ok(seen[1] > seen[0]);
});

test('storage size and hash, and keys paged, agree with the value', async () => {
  const key = chain.api.query.system.account.key(dev('Alice').address);
  const value = await chain.api.rpc.state.getStorage(key);
  const size = await chain.api.rpc.state.getStorageSize(key);
  assert.equal(size.toNumber(), value.toU8a(true).length);
  const keys = await chain.api.rpc.state.getKeysPaged(chain.api.query.system.account.keyPrefix(), 10);
  assert.ok(keys.some((k) => k.toHex() === key));
});
