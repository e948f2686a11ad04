import { expect, it } from 'vitest';
import { describeWithRedis } from '../redis-fixture.js';
import { T0, useFunctionHarness, type FunctionHarness } from './function-harness.js';

/**
 * Redis does not roll back a function that fails halfway, so every function checks all that can
 * fail — its arguments, the type of every key it will write — before its first write. Each case
 * injects a failure into a call that would otherwise change several keys, and finds every key
 * of the store exactly as it was. (A full Redis refusing `enqueue` before it starts is in
 * redis-oom.test.ts.)
 */
async function expectNothingWritten(h: FunctionHarness, call: () => Promise<unknown>, error: RegExp) {
  const before = await h.snapshot();
  await expect(call()).rejects.toThrow(error);
  expect(await h.snapshot()).toEqual(before);
}

async function running(h: FunctionHarness, ...ids: string[]) {
  await h.call('enqueue', 100, '0', ...ids.flatMap((id) => h.newJob(id)));
  await h.call('claim', 'node-1', ids.length, 1_000, -1, 0);
}

await describeWithRedis('functions write nothing when they fail', () => {
  const harness = useFunctionHarness();

  it('enqueue: a malformed last job of a batch, or a queue key of the wrong type', async () => {
    const h = await harness();
    await expectNothingWritten(h, () => h.call('enqueue', 10, '0', ...h.newJob('a'), ...h.newJob('b', { priority: 'high' })), /bad arguments/);
    await h.client.set(h.key('q:m'), 'not a list');
    await expectNothingWritten(h, () => h.call('enqueue', 10, '0', ...h.newJob('a'), ...h.newJob('b', { name: 'm' })), /WRONGTYPE/);
  });

  it('claim: the leases key of the wrong type', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a'), ...h.newJob('b'));
    await h.client.set(h.key('leases'), 'not a sorted set');
    await expectNothingWritten(h, () => h.call('claim', 'node-1', 2, 1_000, -1, 0), /WRONGTYPE/);
  });

  it('settle: a malformed last settlement, or the retention list of the wrong type', async () => {
    const h = await harness();
    await running(h, 'a', 'b');
    await expectNothingWritten(h, () => h.call('settle', 'a', 1, 'completed', '1', '', 'b', 1, 'retry', '{}', 'soon'), /bad arguments/);
    await h.client.set(h.key('roots'), 'not a list');
    await expectNothingWritten(h, () => h.call('settle', 'a', 1, 'completed', '1', '', 'b', 1, 'completed', '2', ''), /WRONGTYPE/);
  });

  it('renew: a token that is not a number, or the counts of the wrong type for a call that needs them', async () => {
    const h = await harness();
    await running(h, 'a', 'b');
    h.now = T0 + 500;
    await expectNothingWritten(h, () => h.call('renew', 1_000, 'a', 1, 'b', 'x'), /bad arguments/);
    await h.client.set(h.key('counts'), 'not a hash');
    await expectNothingWritten(h, () => h.call('set_waiting', 'a', 1, '1'), /WRONGTYPE/);
  });

  it('progress and set_waiting: malformed arguments', async () => {
    const h = await harness();
    await running(h, 'a');
    await expectNothingWritten(h, () => h.call('progress', 'a', 'one', '1'), /bad arguments/);
    await expectNothingWritten(h, () => h.call('set_waiting', 'a', 1, 'yes'), /bad arguments/);
  });

  it('cancel: a children list of the wrong type found halfway down the tree', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('p'));
    await h.call('enqueue', 10, '0', ...h.newJob('c', { parent: 'p' }), ...h.newJob('d', { parent: 'p' }));
    await h.call('enqueue', 10, '0', ...h.newJob('g', { parent: 'c' }));
    await h.client.del(h.key('c:c'));
    await h.client.set(h.key('c:c'), 'not a list');
    await expectNothingWritten(h, () => h.call('cancel', 'p', '{"code":"JOB_CANCELLED","message":"stop"}'), /WRONGTYPE/);
  });

  it('schedule_fire: a malformed last fire, or the idempotency hash of the wrong type', async () => {
    const h = await harness();
    const fp = ['fp', 'n', '{}', '{"everyMs":1000}', '{"missed":"skip","overlap":"allow","graceMs":1}', '', '{}'];
    await h.call('schedule_upsert', 'a', ...fp, T0, 10);
    await h.call('schedule_upsert', 'b', ...fp, T0, 10);
    await expectNothingWritten(h, () => h.call('schedule_fire', 10, 'a', 1, T0, T0 + 1_000, '1', 'j1', 'b', 1, T0, T0, '1', 'j2'), /bad arguments/);
    await h.client.set(h.key('idem'), 'not a hash');
    await expectNothingWritten(h, () => h.call('schedule_fire', 10, 'a', 1, T0, T0 + 1_000, '0', 'j1', 'b', 1, T0, T0 + 1_000, '1', 'j2'), /WRONG/);
  });

  it('schedule_upsert, pause_type: the schedule index or the paused set of the wrong type', async () => {
    const h = await harness();
    await h.client.set(h.key('sched'), 'not a sorted set');
    const fp = ['fp', 'n', '{}', '{"everyMs":1000}', '{"missed":"skip","overlap":"allow","graceMs":1}', '', '{}'];
    await expectNothingWritten(h, () => h.call('schedule_upsert', 'a', ...fp, T0, 10), /WRONG/);
    await h.client.set(h.key('paused'), 'not a set');
    await expectNothingWritten(h, () => h.call('pause_type', 'mail'), /WRONGTYPE/);
    await expectNothingWritten(h, () => h.call('resume_type', 'mail'), /WRONG/);
  });

  it('cascade: a durable work list of the wrong type', async () => {
    const h = await harness();
    await running(h, 'a');
    await h.client.set(h.key('work'), 'not a list');
    await expectNothingWritten(h, () => h.call('cascade'), /WRONGTYPE/);
  });
});
