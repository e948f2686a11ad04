import { expect, it } from 'vitest';
import { functionLibrary } from '../../src/function-library.js';
import { describeWithRedis } from '../redis-fixture.js';
import { claimed, T0, useFunctionHarness, type FunctionHarness } from './function-harness.js';

const every = '{"everyMs":1000}';
const policy = (overlap: 'skip' | 'allow') => `{"missed":"skip","overlap":"${overlap}","graceMs":10000}`;

/** schedule_upsert's arguments for schedule `key` (fingerprint `fp`), first tick `nextAt`. */
function upsert(h: FunctionHarness, key: string, fp: string, nextAt: number, overlap: 'skip' | 'allow' = 'allow') {
  return h.call('schedule_upsert', key, fp, 'n', '{"a":1}', every, policy(overlap), '', `{"schedule":"${key}"}`, nextAt, 100);
}

function read(h: FunctionHarness, fn: 'schedules' | 'paused_types', ...args: (string | number)[]) {
  return h.client.fcall(`${functionLibrary.name}_${fn}`, 1, h.base, ...args.map(String));
}

await describeWithRedis('functions schedule_upsert, schedule_remove, schedules, schedule_fire, pause_type, resume_type', () => {
  const harness = useFunctionHarness();

  it('schedule_upsert creates, keeps an unchanged definition, and replaces a changed one with a new version', async () => {
    const h = await harness();
    expect(((await upsert(h, 'k', 'fp1', T0 + 1_000)) as [string])[0]).toBe('created');
    expect(await h.client.hgetall(h.key('s:k'))).toMatchObject({ n: 'n', i: '{"a":1}', v: '1', nx: String(T0 + 1_000), ov: 'allow', fp: 'fp1' });
    expect(((await upsert(h, 'k', 'fp1', T0 + 9_000)) as [string])[0]).toBe('kept');
    expect(await h.client.hget(h.key('s:k'), 'nx')).toBe(String(T0 + 1_000));
    expect(((await upsert(h, 'k', 'fp2', T0 + 2_000, 'skip')) as [string])[0]).toBe('changed');
    expect(await h.client.hgetall(h.key('s:k'))).toMatchObject({ v: '2', nx: String(T0 + 2_000), ov: 'skip' });
    expect(await h.client.zscore(h.key('sched'), 'k')).toBe(String(T0 + 2_000));
  });

  it('schedule_upsert refuses a new key past the bound, and schedule_remove removes', async () => {
    const h = await harness();
    await h.call('schedule_upsert', 'a', 'fp', 'n', '', every, policy('allow'), '', '{}', T0, 1);
    expect(await h.call('schedule_upsert', 'b', 'fp', 'n', '', every, policy('allow'), '', '{}', T0, 1)).toEqual(['full']);
    expect(await h.call('schedule_remove', 'a')).toBe(1);
    expect(await h.call('schedule_remove', 'a')).toBe(0);
    expect(await h.client.exists(h.key('s:a'), h.key('sched'))).toBe(0);
  });

  it('schedules lists by next tick then key, only those due by a time when asked', async () => {
    const h = await harness();
    await upsert(h, 'c', 'fp', T0 + 3_000);
    await upsert(h, 'b', 'fp', T0 + 1_000);
    await upsert(h, 'a', 'fp', T0 + 1_000);
    const keys = async (...args: (string | number)[]) => ((await read(h, 'schedules', ...args)) as [string, string[]][]).map(([key]) => key);
    expect(await keys('', 10)).toEqual(['a', 'b', 'c']);
    expect(await keys(T0 + 2_000, 10)).toEqual(['a', 'b']);
    expect(await keys('', 1)).toEqual(['a']);
  });

  it('schedule_fire takes a tick once, enqueues its job with the tick key, and moves the schedule on', async () => {
    const h = await harness();
    await upsert(h, 'k', 'fp', T0 + 1_000);
    h.now = T0 + 1_000;
    const fire = (id: string) => ['k', 1, T0 + 1_000, T0 + 2_000, '1', id];
    expect(await h.call('schedule_fire', 100, ...fire('j1'), ...fire('j2'))).toEqual([['fired', 'j1'], ['stale']]);
    expect(await h.job('j1')).toMatchObject({
      n: 'n',
      s: 'queued',
      i: '{"a":1}',
      b: `${T0 + 1_000}\t1`,
      ik: `schedule:k:${T0 + 1_000}`,
      m: '{"schedule":"k"}',
    });
    expect(await h.client.hget(h.key('idem'), `schedule:k:${T0 + 1_000}`)).toBe('j1');
    expect(await h.client.hgetall(h.key('s:k'))).toMatchObject({ nx: String(T0 + 2_000), la: String(T0 + 1_000), lj: 'j1' });
    expect(await h.client.zscore(h.key('sched'), 'k')).toBe(String(T0 + 2_000));
    expect(await h.counts()).toMatchObject({ queued: '1' });
    expect(await h.call('schedule_fire', 100, 'k', 2, T0 + 2_000, T0 + 3_000, '1', 'j3')).toEqual([['stale']]);
  });

  it('schedule_fire passes a tick over when told, or while the last run goes on under overlap skip; refuses at the bound', async () => {
    const h = await harness();
    await upsert(h, 'k', 'fp', T0 + 1_000, 'skip');
    expect(await h.call('schedule_fire', 100, 'k', 1, T0 + 1_000, T0 + 2_000, '0', 'x')).toEqual([['skipped']]);
    expect(await h.call('schedule_fire', 100, 'k', 1, T0 + 2_000, T0 + 3_000, '1', 'j1')).toEqual([['fired', 'j1']]);
    expect(await h.call('schedule_fire', 100, 'k', 1, T0 + 3_000, T0 + 4_000, '1', 'j2')).toEqual([['skipped']]);
    await h.call('claim', 'node-1', 1, 1_000, -1, 0);
    await h.call('settle', 'j1', 1, 'completed', '1', '');
    expect(await h.call('schedule_fire', 0, 'k', 1, T0 + 4_000, T0 + 5_000, '1', 'j3')).toEqual([['refused', 'QUEUE_FULL']]);
    expect(await h.client.hget(h.key('s:k'), 'nx')).toBe(String(T0 + 4_000));
    expect(await h.call('schedule_fire', 100, 'k', 1, T0 + 4_000, T0 + 5_000, '1', 'j3')).toEqual([['fired', 'j3']]);
  });

  it('pause_type keeps claims off a name; resume_type lets them back and announces work', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a', { name: 'mail' }), ...h.newJob('b', { name: 'sms' }));
    await h.call('pause_type', 'mail');
    expect(await read(h, 'paused_types')).toEqual(['mail']);
    const [jobs] = claimed(await h.call('claim', 'node-1', 10, 1_000, -1, 0));
    expect(jobs.map((j) => j[0])).toEqual(['b']);
    const sub = h.client.duplicate();
    const messages: string[] = [];
    await sub.ssubscribe(h.key('signals'));
    sub.on('smessage', (_channel: string, message: string) => messages.push(message));
    await h.call('resume_type', 'mail');
    await h.call('resume_type', 'mail');
    await expect.poll(() => messages.length).toBe(1);
    expect(messages[0]!.split('\n')).toContain('w');
    sub.disconnect();
    const [after] = claimed(await h.call('claim', 'node-1', 10, 1_000, -1, 0));
    expect(after.map((j) => j[0])).toEqual(['a']);
  });
});
