import { expect, it } from 'vitest';
import { describeWithRedis } from '../redis-fixture.js';
import { claimed, T0, useFunctionHarness } from './function-harness.js';

await describeWithRedis('function claim', () => {
  const harness = useFunctionHarness();

  it('hands out the best jobs under a lease, recorded in the leases set', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a'), ...h.newJob('b', { priority: 5, input: '{"v":1}' }), ...h.newJob('c', { name: 'other' }));
    // owner, max, leaseMs, all names (-1), no capacity entries
    const [jobs, next, pending] = claimed(await h.call('claim', 'node-1', 2, 1_000, -1, 0));
    expect(jobs.map((j) => j.slice(0, 5))).toEqual([
      ['b', 1, 'n', '{"v":1}', 1],
      ['a', 1, 'n', '{}', 1],
    ]);
    expect(next).toBe('');
    expect(pending).toBe(0);
    expect(await h.job('b')).toEqual({
      n: 'n',
      s: 'running',
      i: '{"v":1}',
      p: '5',
      b: `${T0}\t2`,
      sq: '2',
      a: '1',
      t: '1',
      ow: 'node-1',
      sa: String(T0),
    });
    // The lease expiry is the job's score in the leases set, and nowhere else. The set also holds
    // its anchor (context.lua), at +inf, which keeps it a skip list.
    expect(await h.client.zrangebyscore(h.key('leases'), '-inf', '(+inf', 'WITHSCORES')).toEqual(['a', String(T0 + 1_000), 'b', String(T0 + 1_000)]);
    expect(await h.client.zrangebyscore(h.key('leases'), '+inf', '+inf')).toEqual([expect.stringMatching(/^anchor\t/)]);
    expect(await h.client.object('ENCODING', h.key('leases'))).toBe('skiplist');
    // The sweep's earliest lease is a job's, not the anchor's.
    expect(((await h.call('cascade')) as [number, string])[1]).toBe(String(T0 + 1_000));
    expect(await h.counts()).toMatchObject({ queued: '1', running: '2' });
  });

  it('hands out a job at every default in a short row (id, -token, name, input, createdAt), any other in full', async () => {
    const h = await harness();
    await h.call(
      'enqueue',
      10,
      '0',
      ...['P', 'n', 0, 1, 'a', '{"v":1}'],
      ...h.newJob('b', { meta: '{"k":"v"}' }),
      ...h.newJob('c', { root: 'r' }),
      // (A parent takes the general path: its row is the same.)
      ...h.newJob('d', { parent: 'c' }),
    );
    const [flat] = (await h.call('claim', 'node-1', 10, 1_000, -1, 0)) as [unknown[]];
    expect(flat).toEqual([
      ...['a', -1, 'n', '{"v":1}', `${T0}\t1`],
      ...['b', 1, 'n', '{}', 1, '0', '', 'b', `${T0}\t2`, '{"k":"v"}'],
      ...['c', 1, 'n', '{}', 1, '0', '', 'r', `${T0}\t3`, ''],
      ...['d', 1, 'n', '{}', 1, '0', 'c', 'r', `${T0}\t4`, ''],
    ]);
    // A second attempt (the general path) in full.
    h.now = T0 + 1_000;
    const [again] = (await h.call('claim', 'node-2', 1, 1_000, -1, 0)) as [unknown[]];
    expect(again).toEqual(['a', 2, 'n', '{"v":1}', 2, '0', '', 'a', `${T0}\t1`, '']);
  });

  it('takes only the names and capacities it is given', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a', { name: 'x' }), ...h.newJob('b', { name: 'x' }), ...h.newJob('c', { name: 'y' }));
    const [jobs] = claimed(await h.call('claim', 'node-1', 10, 1_000, 2, 'x', 'y', 1, 'x', 1));
    expect(jobs.map((j) => j[0])).toEqual(['a', 'c']);
  });

  it('promotes due delayed jobs and reports when the next one falls due', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('soon', { runAt: T0 + 100 }), ...h.newJob('later', { runAt: T0 + 900 }));
    h.now = T0 + 100;
    const [jobs, next] = claimed(await h.call('claim', 'node-1', 10, 1_000, -1, 0));
    expect(jobs.map((j) => j[0])).toEqual(['soon']);
    expect(next).toBe(String(T0 + 900));
  });

  it('requeues a job whose lease ran out and hands it out again with the next token', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a'));
    await h.call('claim', 'node-1', 1, 1_000, -1, 0);
    h.now = T0 + 1_000;
    const [jobs] = claimed(await h.call('claim', 'node-2', 1, 1_000, -1, 0));
    expect(jobs.map((j) => j.slice(0, 2))).toEqual([['a', 2]]);
    expect(await h.job('a')).toMatchObject({ ow: 'node-2', st: '1', a: '2' });
  });

  it('skips queue entries of jobs that left the queue early, and merges names by age', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a', { name: 'x' }), ...h.newJob('b', { name: 'y' }), ...h.newJob('c', { name: 'x' }));
    await h.call('cancel', 'a', '{"code":"JOB_CANCELLED","message":"stop"}');
    expect(await h.client.lrange(h.key('q:x'), 0, -1)).toEqual(['1:a', '3:c']);
    const [jobs] = claimed(await h.call('claim', 'node-1', 10, 1_000, 2, 'x', 'y', 0));
    expect(jobs.map((j) => j[0])).toEqual(['b', 'c']);
    expect(await h.client.exists(h.key('q:x'), h.key('q:y'))).toBe(0);
  });

  it('finds every kind of work among many names, most of them empty', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('lapsed', { name: 'l' }));
    await h.call('claim', 'node-1', 1, 1_000, 1, 'l', 0);
    await h.call(
      'enqueue',
      10,
      '0',
      ...h.newJob('pri', { name: 'p', priority: 3 }),
      ...h.newJob('keyed', { name: 'k', key: 'a' }),
      ...h.newJob('soon', { name: 'd', runAt: T0 + 1_000 }),
    );
    // At T0 + 1,000 'soon' falls due and 'lapsed' loses its lease: both join their queues in the
    // very call that hands them out, so neither queue exists in Redis when the names are looked at.
    h.now = T0 + 1_000;
    const empty = Array.from({ length: 10 }, (_, i) => `empty${i}`);
    const names = [...empty.slice(0, 5), 'l', 'p', 'k', 'd', ...empty.slice(5)];
    const [jobs] = claimed(await h.call('claim', 'node-2', 10, 1_000, names.length, ...names, 0));
    expect(jobs.map((j) => j[0]).sort()).toEqual(['keyed', 'lapsed', 'pri', 'soon']);
    expect(await h.counts()).toMatchObject({ queued: '0', running: '4' });
  });
});
