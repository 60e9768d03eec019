// How every test file connects: @polkadot/api over a WsProvider, as a Tangle developer would. Each JSON-RPC
// request it sends is recorded (RPC_LOG, to report what a real client needs), and every console warning or
// error it prints is collected: tests fail on them, since polkadot.js warns when a node lacks an RPC method
// or runtime API it expected, or serves one it cannot decode.
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { after, before } from 'node:test';

import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';

export const LOCALNET_URL = process.env.LOCALNET_URL ?? 'ws://127.0.0.1:9944';
// What the pytest driver (tests/localnet/test_polkadot_js.py) set up: the service, its blueprint and operator.
export const SERVICE_ID = Number(process.env.SERVICE_ID);
export const BLUEPRINT_ID = Number(process.env.BLUEPRINT_ID);
export const OPERATOR_ACCOUNT = process.env.OPERATOR_ACCOUNT;
export const OPERATOR_URL = process.env.OPERATOR_URL;

// polkadot.js 16 has no definitions of the JSON-RPC spec v2 groups, so it says this for any recent
// polkadot-sdk node too: "RPC methods not decorated: chainHead_v1_body, ...". Only that is expected.
const SPEC_V2 = /^(chainHead|chainSpec|transaction|transactionWatch|archive)_v1_/;

function expected(text) {
  const match = /RPC methods not decorated: (.*)$/.exec(text);
  return match !== null && match[1].split(', ').every((name) => SPEC_V2.test(name.trim()));
}

function captureConsole() {
  const messages = [];
  const allowed = [];
  const saved = { warn: console.warn, error: console.error };
  for (const level of ['warn', 'error']) {
    console[level] = (...args) => {
      const text = args.map(String).join(' ');
      if (!expected(text) && !allowed.some((pattern) => pattern.test(text))) messages.push(`${level}: ${text}`);
      saved[level](...args);
    };
  }
  return { messages, allowed, restore: () => Object.assign(console, saved) };
}

function record(method, params) {
  if (!process.env.RPC_LOG) return;
  const runtimeApi = method === 'state_call' ? ` ${params[0]}` : '';
  appendFileSync(process.env.RPC_LOG, `${method}${runtimeApi}\n`);
}

function recordingProvider(url) {
  const provider = new WsProvider(url);
  const send = provider.send.bind(provider);
  provider.send = (method, params, ...rest) => {
    record(method, params);
    return send(method, params, ...rest);
  };
  const unsubscribe = provider.unsubscribe.bind(provider);
  provider.unsubscribe = (type, method, id) => {
    record(method, [id]);
    return unsubscribe(type, method, id);
  };
  return provider;
}

/**
 * Connect; `close()` disconnects and returns the warnings and errors printed while connected, except those
 * matching a pattern given to `expectLogged` (polkadot.js logs every RPC error it receives, expected or not).
 */
export async function open(url = LOCALNET_URL) {
  const console_ = captureConsole();
  const api = await ApiPromise.create({ provider: recordingProvider(url), throwOnConnect: true });
  const close = async () => {
    const printed = [...console_.messages];
    console_.restore(); // disconnecting with live subscriptions makes polkadot.js log "disconnected": not ours
    await api.disconnect();
    return printed;
  };
  return { api, close, expectLogged: (pattern) => console_.allowed.push(pattern) };
}

/**
 * One connection for a test file: opened before its tests, closed after them, failing the file if polkadot.js
 * printed anything. The returned object gets `api` and `expectLogged` once connected.
 */
export function connectForFile() {
  const connection = {};
  before(async () => {
    Object.assign(connection, await open());
  });
  after(async () => {
    assert.deepEqual(await connection.close(), [], 'polkadot.js printed warnings or errors');
  });
  return connection;
}

export const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
export const dev = (name) => keyring.addFromUri(`//${name}`);

/**
 * signAndSend; `finalized` resolves with every status seen and the finalized result (or rejects with the
 * node's error), `ready` once the pool has accepted it.
 */
export function send(tx, signer, options = {}) {
  const statuses = [];
  let accepted;
  const ready = new Promise((resolve) => {
    accepted = resolve;
  });
  const finalized = new Promise((resolve, reject) => {
    tx.signAndSend(signer, options, (result) => {
      statuses.push(result.status.type);
      if (result.status.isReady || result.status.isFuture) accepted();
      if (result.status.isFinalized) resolve({ statuses, result });
      if (result.isError) reject(new Error(`transaction ended ${result.status.type}`));
    }).catch(reject);
  });
  return { ready, finalized };
}

export const signAndWatch = (tx, signer, options = {}) => send(tx, signer, options).finalized;

/** Resolve once `predicate(value)` holds for a value a subscribing query (`subscribe(callback)`) delivers. */
export async function until(subscribe, predicate, timeoutMs = 60_000) {
  let timer;
  let done = false;
  let resolveSeen;
  const seen = new Promise((resolve) => {
    resolveSeen = resolve;
  });
  const unsubscribe = await subscribe((value) => {
    if (!done && predicate(value)) {
      done = true;
      resolveSeen(value);
    }
  });
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing matched within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([seen, timeout]);
  } finally {
    clearTimeout(timer);
    unsubscribe();
  }
}
