// What the PAPI tests share: the endpoints pytest passes, a client with the typed API, dev signers.
import { createClient } from "polkadot-api";
import { getWsProvider } from "polkadot-api/ws";
import { getPolkadotSigner } from "polkadot-api/signer";
import { sr25519CreateDerive } from "@polkadot-labs/hdkd";
import { DEV_PHRASE, entropyToMiniSecret, mnemonicToEntropy } from "@polkadot-labs/hdkd-helpers";
import { localnet } from "@polkadot-api/descriptors";
import { firstValueFrom, filter, lastValueFrom, tap, timeout, toArray } from "rxjs";

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

export function connect(url = env("LOCALNET_URL")) {
  const client = createClient(getWsProvider(url));
  return { client, api: client.getTypedApi(localnet) };
}

const derive = sr25519CreateDerive(entropyToMiniSecret(mnemonicToEntropy(DEV_PHRASE)));

export function devSigner(path) {
  const pair = derive(path);
  return getPolkadotSigner(pair.publicKey, "Sr25519", pair.sign);
}

// Every event of a signSubmitAndWatch until "finalized" (or the error it ends with).
export function watchTx(tx, signer, options) {
  const seen = [];
  const events = tx.signSubmitAndWatch(signer, options).pipe(
    tap((event) => seen.push(event)),
    timeout(60_000),
    toArray(),
  );
  return { seen, done: lastValueFrom(events) };
}

export async function nextFinalized(client, after) {
  return firstValueFrom(client.finalizedBlock$.pipe(filter((b) => b.number > after), timeout(30_000)));
}
