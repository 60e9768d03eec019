// Connecting: what ApiPromise.create reads from the node, and that it has nothing to complain about.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { connectForFile } from './connect.mjs';

const chain = connectForFile();

test('genesis, chain name, properties and runtime version are the localnet’s', async () => {
  assert.equal(chain.api.genesisHash.toHex(), process.env.GENESIS_HASH);
  assert.equal((await chain.api.rpc.chain.getBlockHash(0)).toHex(), process.env.GENESIS_HASH);
  assert.equal((await chain.api.rpc.system.chain()).toString(), 'Tangle Localnet');
  const properties = await chain.api.rpc.system.properties();
  assert.equal(properties.ss58Format.unwrap().toNumber(), 42);
  assert.deepEqual(properties.tokenDecimals.unwrap().toJSON(), [18]);
  assert.deepEqual(properties.tokenSymbol.unwrap().toJSON(), ['TNT']);
  assert.equal(chain.api.runtimeVersion.specName.toString(), 'tangle-localnet');
  assert.equal(chain.api.runtimeVersion.specVersion.toNumber(), 1);
  assert.equal(chain.api.runtimeVersion.transactionVersion.toNumber(), 1);
  assert.equal(chain.api.registry.chainDecimals[0], 18);
  assert.equal(chain.api.registry.chainTokens[0], 'TNT');
});

test('the runtime APIs it lists are the ones polkadot.js decorates, and they answer', async () => {
  for (const section of ['core', 'metadata', 'accountNonceApi', 'transactionPaymentApi', 'taggedTransactionQueue']) {
    assert.ok(chain.api.call[section], `chain.api.call.${section} is decorated`);
  }
  const version = await chain.api.call.core.version();
  assert.equal(version.specName.toString(), 'tangle-localnet');
  assert.deepEqual(version.apis.toJSON(), chain.api.runtimeVersion.apis.toJSON());
  assert.deepEqual((await chain.api.call.metadata.metadataVersions()).toJSON(), [14]);
  assert.ok((await chain.api.call.metadata.metadataAtVersion(15)).isNone);
});

test('the extrinsic metadata has the signed extensions the localnet checks', () => {
  assert.deepEqual(chain.api.registry.signedExtensions, [
    'CheckNonZeroSender',
    'CheckSpecVersion',
    'CheckTxVersion',
    'CheckGenesis',
    'CheckMortality',
    'CheckNonce',
    'CheckWeight',
    'ChargeTransactionPayment',
  ]);
  assert.equal(chain.api.extrinsicVersion, 4);
});

test('node information RPCs', async () => {
  const health = await chain.api.rpc.system.health();
  assert.equal(health.isSyncing.isFalse, true);
  assert.match((await chain.api.rpc.system.localPeerId()).toString(), /^12D3KooW/);
  assert.deepEqual((await chain.api.rpc.system.nodeRoles()).map((role) => role.toString()), ['Authority']);
  const sync = await chain.api.rpc.system.syncState();
  const head = await chain.api.rpc.chain.getHeader();
  assert.ok(sync.currentBlock.toNumber() >= head.number.toNumber() - 1);
  const methods = (await chain.api.rpc.rpc.methods()).methods.map((m) => m.toString());
  for (const name of ['state_call', 'state_subscribeRuntimeVersion', 'state_subscribeStorage', 'author_submitAndWatchExtrinsic']) {
    assert.ok(methods.includes(name), `rpc_methods lists ${name}`);
  }
});

test('an unknown method is -32601 and a runtime API the runtime lacks is the node’s execution error', async () => {
  await assert.rejects(chain.api._rpcCore.provider.send('foo_bar', []), /-32601: Method not found/);
  chain.expectLogged(/4003: Client error: Execution failed: Other: Exported method Foo_bar is not found/);
  await assert.rejects(
    chain.api.rpc.state.call('Foo_bar', '0x'),
    /4003: Client error: Execution failed: Other: Exported method Foo_bar is not found/,
  );
});
