// A job called on the Services pallet with polkadot.js, answered by a real `faas operator`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { OPERATOR_ACCOUNT, OPERATOR_URL, SERVICE_ID, connectForFile, dev, signAndWatch, until } from './connect.mjs';

const chain = connectForFile();

// The execute job's arguments in blueprint order (blueprint/jobs.py): language, code, mode, resources,
// env, files as Field::String, snapshot_id and branch_id as Field::Optional(String, None).
function executeArgs(language, code) {
  const text = (value) => ({ String: value });
  const none = { Optional: ['String', null] };
  return [text(language), text(code), text('ephemeral'), text(''), text(''), text(''), none, none];
}

const fieldText = (field) => field.asString.toUtf8();

test('Services.call(service, 0, args): JobCalled, then the operator’s JobResultSubmitted and JobResults', async () => {
  const caller = dev('Alice');
  const code = 'print("hello from polkadot.js")';
  const tx = chain.api.tx.services.call(SERVICE_ID, 0, executeArgs('python', code));
  const { result } = await signAndWatch(tx, caller);
  assert.equal(result.dispatchError, undefined);

  const called = result.events.map(({ event }) => event).find((e) => chain.api.events.services.JobCalled.is(e));
  assert.ok(called, 'JobCalled is among the extrinsic’s events');
  const { caller: who, serviceId, callId, job, args } = called.data;
  assert.equal(who.toString(), caller.address);
  assert.equal(serviceId.toNumber(), SERVICE_ID);
  assert.equal(job.toNumber(), 0);
  assert.equal(fieldText(args[0]), 'python');
  assert.equal(fieldText(args[1]), code);
  assert.ok(args[6].isOptional && args[6].asOptional[1].isNone);
  const call = callId.toNumber();
  const stored = await chain.api.query.services.jobCalls(SERVICE_ID, call);
  assert.ok(stored.isSome && stored.unwrap().job.toNumber() === 0);

  const submitted = await until(
    (cb) => chain.api.query.system.events(cb),
    (records) =>
      records.some(
        ({ event }) => chain.api.events.services.JobResultSubmitted.is(event) && event.data.callId.toNumber() === call,
      ),
    180_000,
  );
  const answer = submitted
    .map(({ event }) => event)
    .find((e) => chain.api.events.services.JobResultSubmitted.is(e) && e.data.callId.toNumber() === call);
  assert.equal(answer.data.operator.toString(), OPERATOR_ACCOUNT);
  assert.equal(answer.data.serviceId.toNumber(), SERVICE_ID);
  assert.equal(answer.data.job.toNumber(), 0);
  const [receiptHash, signature, status, exitCode, reference] = answer.data.result;
  assert.equal(receiptHash.asList[1].length, 32);
  assert.equal(signature.asList[1].length, 65);
  assert.equal(fieldText(status), 'completed');
  assert.equal(exitCode.asInt32.toNumber(), 0);
  assert.ok(fieldText(reference).length > 0);

  const results = await chain.api.query.services.jobResults(SERVICE_ID, call);
  assert.ok(results.isSome, 'JobResults(service_id, call_id) is stored');
  assert.equal(results.unwrap().callId.toNumber(), call);
  assert.deepEqual(results.unwrap().result.toJSON(), answer.data.result.toJSON());

  const served = await (await fetch(`${OPERATOR_URL}/api/v1/jobs/${SERVICE_ID}/${call}`)).json();
  assert.equal(served.status, 'completed');
  assert.equal(served.output.stdout, 'hello from polkadot.js\n');
  const bytes = (field) => `0x${Buffer.from(field.asList[1].map((b) => b.asUint8.toNumber())).toString('hex')}`;
  assert.equal(bytes(receiptHash), served.receipt_hash);
  assert.equal(bytes(signature), served.signature);
});
