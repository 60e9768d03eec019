// A job submitted with PAPI (Services.call with the execute job's Field arguments) is answered by the operator.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Binary, Enum } from "polkadot-api";
import { ReplaySubject, filter, firstValueFrom, mergeMap, timeout } from "rxjs";
import { BOB, connectedForTests, devSigner, env, watchTx } from "./lib.mjs";

const EXECUTE = 0;
const session = connectedForTests();

const string = (value) => Enum("String", Binary.fromText(value));
const optionalString = (value) =>
  Enum("Optional", [Enum("String"), value === undefined ? undefined : string(value)]);

// The execute job's arguments in the blueprint's order (blueprint/jobs.py): language, code, mode, resources,
// env, files, snapshot_id, branch_id.
const executeArgs = (language, code) => [
  string(language),
  string(code),
  string("ephemeral"),
  string(""),
  string(""),
  string(""),
  optionalString(undefined),
  optionalString(undefined),
];

test("Services.call with Field arguments: JobCalled, then the operator's JobResultSubmitted and JobResults", async () => {
  const serviceId = BigInt(env("SERVICE_ID"));
  // Watched from before the call, so a fast operator's answer cannot be missed.
  const results = new ReplaySubject();
  const watching = session.api.event.Services.JobResultSubmitted.watch()
    .pipe(mergeMap(({ block, events }) => events.map((event) => ({ block, payload: event.payload }))))
    .subscribe(results);
  const tx = session.api.tx.Services.call({ service_id: serviceId, job: EXECUTE, args: executeArgs("python", 'print("hello from papi")') });
  const finalized = (await watchTx(tx, devSigner("//Bob"))).at(-1);
  assert.equal(finalized.type, "finalized");
  assert.equal(finalized.ok, true, JSON.stringify(finalized.dispatchError));
  const called = finalized.events.find((e) => e.type === "Services" && e.value.type === "JobCalled").value.value;
  assert.equal(called.caller, BOB);
  assert.equal(called.service_id, serviceId);
  assert.equal(called.job, EXECUTE);
  assert.equal(Binary.toText(called.args[1].value), 'print("hello from papi")');
  const callId = called.call_id;

  const submitted = await firstValueFrom(
    results.pipe(
      filter(({ payload }) => payload.service_id === serviceId && payload.call_id === callId),
      timeout(180_000),
    ),
  );
  watching.unsubscribe();
  assert.equal(submitted.payload.operator, env("OPERATOR_ACCOUNT"));
  assert.equal(submitted.payload.job, EXECUTE);

  const stored = await session.api.query.Services.JobResults.getValue(serviceId, callId, { at: submitted.block.hash });
  assert.equal(stored.call_id, callId);
  // The result's fields (blueprint/jobs.py RESULT_PARAMS): receipt_hash, signature, status, exit_code, reference.
  assert.equal(stored.result.length, 5);
  assert.equal(Binary.toText(stored.result[2].value), "completed");
  assert.deepEqual(stored.result[3], { type: "Int32", value: 0 });
  assert.deepEqual(stored.result, submitted.payload.result);
  assert.deepEqual(session.warnings.warnings, []);
});
