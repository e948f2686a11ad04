import { expect, it } from 'vitest';
import { describeWithRedis } from '../redis-fixture.js';
import { T0, useFunctionHarness } from './function-harness.js';

await describeWithRedis('function enqueue', () => {
  const harness = useFunctionHarness();

  it('writes each job as one hash of its non-default fields, queues it by name and priority, and counts it', async () => {
    const h = await harness();
    // The listing index kept from here on (list-build.lua), as once the store was listed.
    expect(await h.call('list_build', 1_000, 1_000)).toBe(0);
    const reply = await h.call('enqueue', 10, '0', ...h.newJob('a', { input: '{"x":1}', priority: 2 }), ...h.newJob('b', { name: 'm' }));
    // Every job added as queued: their count alone.
    expect(reply).toBe(2);
    expect(await h.job('a')).toEqual({ n: 'n', s: 'queued', i: '{"x":1}', p: '2', b: `${T0}\t1`, sq: '1' });
    expect(await h.job('b')).toEqual({ n: 'm', s: 'queued', i: '{}', b: `${T0}\t2` });
    // The listing index (listing.lua): seq:id in the bucket of 128 seqs, and the bucket in the set.
    expect(await h.client.lrange(h.key('l:0'), 0, -1)).toEqual(['1:a', '2:b']);
    expect(await h.client.zrange(h.key('listing'), 0, -1)).toEqual(['0']);
    // Priority 0 is a list of seq:id; other priorities a sorted set, score -priority.
    expect(await h.client.zrange(h.key('p:n'), 0, -1, 'WITHSCORES')).toEqual(['0000000000000001a', '-2']);
    expect(await h.client.lrange(h.key('q:m'), 0, -1)).toEqual(['2:b']);
    expect(await h.counts()).toMatchObject({ queued: '2', seq: '2' });
  });

  it('takes runs of one plain job beside full ones, with the same records and bound', async () => {
    const h = await harness();
    const reply = await h.call(
      'enqueue',
      3,
      '0',
      ...['P', 'm', '0', '1', 'a', '{"x":1}'],
      ...h.newJob('b', { name: 'm' }),
      ...['P', 'm', '3', '1', 'c', ''],
      ...['P', 'm', '0', '1', 'd', '{}'],
    );
    expect(reply).toEqual(['queued', 'queued', 'queued', [0, 'QUEUE_FULL']]);
    expect(await h.job('a')).toEqual({ n: 'm', s: 'queued', i: '{"x":1}', b: `${T0}\t1` });
    expect(await h.job('c')).toEqual({ n: 'm', s: 'queued', p: '3', b: `${T0}\t3`, sq: '3' });
    expect(await h.client.lrange(h.key('q:m'), 0, -1)).toEqual(['1:a', '2:b']);
    expect(await h.counts()).toMatchObject({ queued: '3', seq: '3' });
    // Sent again: found, not written twice.
    expect(await h.call('enqueue', 10, '0', 'P', 'm', '0', '1', 'a', '{"y":2}')).toEqual([[2, 'a', 'queued', 'm', '']]);
    // The short form of earlier libraries is gone: Node never sends it, and each node calls its own library.
    await expect(h.call('enqueue', 10, '0', 'p', 'e', 'm', '{}', '0')).rejects.toThrow(/bad arguments/);
  });

  it('takes runs of plain jobs of one name and priority (P, name, priority, count, then id and input per job), with the same records and bound', async () => {
    const h = await harness();
    const reply = await h.call(
      'enqueue',
      4,
      '0',
      ...['P', 'm', 0, 2, 'a', '{"x":1}', 'b', ''],
      ...h.newJob('c', { name: 'm' }),
      ...['P', 'm', 3, 2, 'd', '{}', 'e', '{}'],
    );
    expect(reply).toEqual(['queued', 'queued', 'queued', 'queued', [0, 'QUEUE_FULL']]);
    expect(await h.job('a')).toEqual({ n: 'm', s: 'queued', i: '{"x":1}', b: `${T0}\t1` });
    expect(await h.job('b')).toEqual({ n: 'm', s: 'queued', b: `${T0}\t2` });
    expect(await h.job('d')).toEqual({ n: 'm', s: 'queued', i: '{}', p: '3', b: `${T0}\t4`, sq: '4' });
    expect(await h.job('e')).toEqual({});
    expect(await h.client.lrange(h.key('q:m'), 0, -1)).toEqual(['1:a', '2:b', '3:c']);
    expect(await h.counts()).toMatchObject({ queued: '4', seq: '4' });
    // Sent again (a lost reply): found, not written twice, beside a new one of the same run.
    expect(await h.call('enqueue', 10, '0', 'P', 'm', 0, 2, 'a', '{"y":2}', 'f', '{}')).toEqual([[2, 'a', 'queued', 'm', ''], 'queued']);
    expect(await h.job('a')).toMatchObject({ i: '{"x":1}' });
    // All or nothing over runs: the bound counts every job of them.
    expect(await h.call('enqueue', 6, '1', 'P', 'm', 0, 2, 'g', '{}', 'h', '{}')).toEqual([
      [0, 'QUEUE_FULL'],
      [0, 'QUEUE_FULL'],
    ]);
    // A run shorter than its count, an empty one, or an empty id.
    await expect(h.call('enqueue', 10, '0', 'P', 'm', 0, 2, 'g', '{}')).rejects.toThrow(/bad arguments/);
    await expect(h.call('enqueue', 10, '0', 'P', 'm', 0, 0)).rejects.toThrow(/bad arguments/);
    await expect(h.call('enqueue', 10, '0', 'P', 'm', 0, 1, '', '{}')).rejects.toThrow(/bad arguments/);
    await expect(h.call('enqueue', 10, '0', 'P', '', 0, 1, 'g', '{}')).rejects.toThrow(/bad arguments/);
  });

  it('answers a job sent again with the same id as found, without writing it twice', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a', { fingerprint: 'f' }));
    expect(await h.call('enqueue', 10, '0', ...h.newJob('a', { input: '{"other":1}' }))).toEqual([[2, 'a', 'queued', 'n', 'f']]);
    expect(await h.job('a')).toMatchObject({ i: '{}' });
    expect(await h.client.llen(h.key('q:n'))).toBe(1);
  });

  it('answers QUEUE_FULL at the bound, and for the whole batch when atomic', async () => {
    const h = await harness();
    expect(await h.call('enqueue', 1, '0', ...h.newJob('a'), ...h.newJob('b'))).toEqual(['queued', [0, 'QUEUE_FULL']]);
    expect(await h.call('enqueue', 2, '1', ...h.newJob('c'), ...h.newJob('d'))).toEqual([
      [0, 'QUEUE_FULL'],
      [0, 'QUEUE_FULL'],
    ]);
    expect(await h.client.exists(h.key('j:c'), h.key('j:d'))).toBe(0);
  });

  it('returns the job found by idempotency key or child key instead of adding one', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('p', { idem: 'k', fingerprint: 'f1' }));
    expect(await h.call('enqueue', 10, '0', ...h.newJob('q', { idem: 'k' }))).toEqual([[2, 'p', 'queued', 'n', 'f1']]);
    await h.call('enqueue', 10, '0', ...h.newJob('c1', { parent: 'p', childKey: 'x' }));
    expect(await h.call('enqueue', 10, '0', ...h.newJob('c2', { parent: 'p', childKey: 'x' }))).toEqual([[2, 'c1', 'queued', 'n', '']]);
    expect(await h.job('p')).toMatchObject({ cc: '1', pc: '1' });
    expect(await h.job('c1')).toMatchObject({ pa: 'p', r: 'p', ck: 'x' });
    expect(await h.client.lrange(h.key('c:p'), 0, -1)).toEqual(['c1']);
    // Keys given earlier in the same batch count too.
    expect(await h.call('enqueue', 10, '0', ...h.newJob('d1', { idem: 'j' }), ...h.newJob('d2', { idem: 'j' }))).toEqual([
      'queued',
      [2, 'd1', 'queued', 'n', ''],
    ]);
  });

  it('refuses a child of an unknown parent with JOB_NOT_FOUND', async () => {
    const h = await harness();
    expect(await h.call('enqueue', 10, '0', ...h.newJob('c', { parent: 'nobody' }))).toEqual([[0, 'JOB_NOT_FOUND']]);
  });

  it('refuses with LEASE_LOST a spawn whose parent token is not the held, unexpired attempt', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('p'));
    await h.call('claim', 'node-1', 1, 1_000, -1, 0);
    expect(
      await h.call('enqueue', 10, '0', ...h.newJob('c1', { parent: 'p', parentToken: 1 }), ...h.newJob('c2', { parent: 'p', parentToken: 2 })),
    ).toEqual(['queued', [0, 'LEASE_LOST']]);
    h.now = T0 + 1_000;
    expect(await h.call('enqueue', 10, '0', ...h.newJob('c3', { parent: 'p', parentToken: 1 }))).toEqual([[0, 'LEASE_LOST']]);
    expect(await h.job('p')).toMatchObject({ cc: '1', pc: '1' });
  });

  it('holds a job with a future runAt in the delayed set', async () => {
    const h = await harness();
    expect(await h.call('enqueue', 10, '0', ...h.newJob('a', { runAt: T0 + 500 }))).toEqual(['delayed']);
    expect(await h.client.zrange(h.key('delayed'), 0, -1, 'WITHSCORES')).toEqual(['a', String(T0 + 500)]);
  });
});
