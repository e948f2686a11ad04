import { expect, it } from 'vitest';
import { describeWithRedis } from '../redis-fixture.js';
import { claimed, T0, useFunctionHarness, type FunctionHarness } from './function-harness.js';

async function running(h: FunctionHarness, ...ids: string[]) {
  await h.call('enqueue', 100, '0', ...ids.flatMap((id) => h.newJob(id)));
  await h.call('claim', 'node-1', ids.length, 1_000, -1, 0);
}

await describeWithRedis('function settle', () => {
  const harness = useFunctionHarness();

  it('records completed, failed and retried attempts of the current token, and nothing for a stale one', async () => {
    const h = await harness();
    await running(h, 'a', 'b', 'c');
    h.now = T0 + 10;
    const err = '{"code":"JOB_FAILED","message":"boom"}';
    const reply = await h.call(
      'settle',
      'a',
      1,
      'completed',
      '{"ok":true}',
      '',
      'b',
      1,
      'failed',
      err,
      '',
      'c',
      1,
      'retry',
      err,
      T0 + 500,
      'a',
      7,
      'failed',
      err,
      '',
    );
    expect(reply).toEqual([[1, 1, 1, 0], 0]);
    // A completed job keeps its last owner's name (held means running or waiting, and owned).
    expect(await h.job('a')).toMatchObject({ s: 'completed', o: '{"ok":true}', fa: String(T0 + 10) });
    expect(await h.job('b')).toMatchObject({ s: 'failed', e: err });
    expect(await h.job('c')).toMatchObject({ s: 'delayed', ra: String(T0 + 500) });
    // No lease left but the set's anchor (context.lua), which the sweep never reports as the
    // earliest lease (it did, as 'inf', before it read past it).
    expect(await h.client.zcount(h.key('leases'), '-inf', '(+inf')).toBe(0);
    expect(await h.client.zcard(h.key('leases'))).toBe(1);
    expect(await h.call('cascade')).toEqual([0, '']);
    expect(await h.counts()).toMatchObject({ running: '0', completed: '1', failed: '1', delayed: '1' });
    // Finished roots for retention: status, finish time, id (nothing else to clean up).
    expect(await h.client.lrange(h.key('roots'), 0, -1)).toEqual([`c:${T0 + 10}:a`, `f:${T0 + 10}:b`]);
  });

  it("takes completions in runs ('', count, then id, token, output each) beside full settlements, in order", async () => {
    const h = await harness();
    await running(h, 'a', 'b', 'c', 'd');
    h.now = T0 + 10;
    const err = '{"code":"JOB_FAILED","message":"boom"}';
    const reply = await h.call('settle', ...['', 2, 'a', 1, '{"ok":true}', 'b', 7, ''], ...['c', 1, 'failed', err, ''], ...['', 1, 'd', 1, '']);
    expect(reply).toEqual([[1, 0, 1, 1], 0]);
    expect(await h.job('a')).toMatchObject({ s: 'completed', o: '{"ok":true}', fa: String(T0 + 10) });
    expect(await h.job('b')).toMatchObject({ s: 'running' });
    expect(await h.job('c')).toMatchObject({ s: 'failed', e: err });
    expect(await h.job('d')).toMatchObject({ s: 'completed' });
    expect(await h.job('d')).not.toHaveProperty('o');
    expect(await h.counts()).toMatchObject({ running: '1', completed: '2', failed: '1' });
    expect(await h.client.lrange(h.key('roots'), 0, -1)).toEqual([`c:${T0 + 10}:a`, `f:${T0 + 10}:c`, `c:${T0 + 10}:d`]);
    // A run shorter than its count, an empty one, or a bad token.
    await expect(h.call('settle', '', 2, 'b', 1, '')).rejects.toThrow(/bad arguments/);
    await expect(h.call('settle', '', 0)).rejects.toThrow(/bad arguments/);
    await expect(h.call('settle', '', 1, 'b', 'x', '')).rejects.toThrow(/bad arguments/);
  });

  it('queues a released job again at once without counting the attempt, unless its cancel was requested', async () => {
    const h = await harness();
    await running(h, 'a', 'b');
    await h.call('cancel', 'b', '{"code":"JOB_CANCELLED","message":"stop"}');
    expect(await h.call('settle', 'a', 1, 'released', '', '', 'b', 1, 'released', '', '')).toEqual([2, 0]);
    expect(await h.job('a')).toMatchObject({ s: 'queued', a: '0', t: '1', ow: '' });
    expect(await h.job('a')).not.toHaveProperty('st');
    expect(await h.job('b')).toMatchObject({ s: 'cancelled' });
    expect(await h.counts()).toMatchObject({ queued: '1', running: '0', cancelled: '1' });
    const [jobs] = claimed(await h.call('claim', 'node-2', 1, 1_000, -1, 0));
    expect(jobs.map((j) => j.slice(0, 5))).toEqual([['a', 2, 'n', '{}', 1]]);
  });

  it('settles a parent only after its last child, bottom-up', async () => {
    const h = await harness();
    await running(h, 'p');
    await h.call('enqueue', 10, '0', ...h.newJob('c', { parent: 'p' }));
    expect(await h.call('settle', 'p', 1, 'completed', '1', '')).toEqual([1, 0]);
    expect(await h.job('p')).toMatchObject({ s: 'waitingChildren', df: 'completed' });
    const [[child]] = claimed(await h.call('claim', 'node-1', 1, 1_000, -1, 0));
    expect(await h.call('settle', 'c', (child as unknown[])[1] as number, 'completed', '2', '')).toEqual([1, 0]);
    expect(await h.job('p')).toMatchObject({ s: 'completed', o: '1' });
  });
});
