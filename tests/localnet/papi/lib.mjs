// What the PAPI tests share: the endpoints pytest passes, a client with the typed API, dev signers.
import { after, before } from "node:test";
import { createClient } from "polkadot-api";
import { getWsProvider } from "polkadot-api/ws";
import { getPolkadotSigner } from "polkadot-api/signer";
import { sr25519CreateDerive } from "@polkadot-labs/hdkd";
import { DEV_PHRASE, entropyToMiniSecret, mnemonicToEntropy } from "@polkadot-labs/hdkd-helpers";
import { localnet } from "@polkadot-api/descriptors";
import { lastValueFrom, timeout, toArray } from "rxjs";

export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (pytest's tests/localnet/test_papi.py sets it)`);
  return value;
}

// Fails the test when the client warns (e.g. about an RPC it could not use), as a user would notice.
export function watchWarnings() {
  const warnings = [];
  const original = console.warn;
  console.warn = (...args) => {
    warnings.push(args.map(String).join(" "));
    original(...args);
  };
  return { warnings, restore: () => (console.warn = original) };
}

export const ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
export const BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
export const DAVE = "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy";

// One client for the test file, with the typed API of the descriptors generated from the localnet's metadata;
// its fields are set once the file's tests start.
export function connectedForTests() {
  const session = {};
  before(() => {
    session.warnings = watchWarnings();
    session.client = createClient(getWsProvider(env("LOCALNET_URL")));
    session.api = session.client.getTypedApi(localnet);
  });
  after(() => {
    session.client?.destroy();
    session.warnings?.restore();
  });
  return session;
}

const derive = sr25519CreateDerive(entropyToMiniSecret(mnemonicToEntropy(DEV_PHRASE)));

export function devSigner(path) {
  const pair = derive(path);
  return getPolkadotSigner(pair.publicKey, "Sr25519", pair.sign);
}

// Every event of a signSubmitAndWatch, once it is finalized (or the error it ends with).
export function watchTx(tx, signer, options) {
  return lastValueFrom(tx.signSubmitAndWatch(signer, options).pipe(timeout(60_000), toArray()));
}
