import { expect, it } from 'vitest';
import { describeWithRedis } from '../redis-fixture.js';
import { claimed, T0, useFunctionHarness } from './function-harness.js';

const LEASE = 1_000;

await describeWithRedis('late calls (claim, renew, cascade)', () => {
  const harness = useFunctionHarness();

  it('refuses a claim more than a lease behind the newest now, writing nothing; the mark moves with the caller clock', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a'));
    // Another node's sweep at T0 + 5 s: the mark.
    h.now = T0 + 5_000;
    await h.call('cascade');
    expect(await h.client.get(h.key('now'))).toBe(String(T0 + 5_000));
    // A claim sent at T0 that reaches Redis only now: every lease it would hand out ran out.
    h.now = T0;
    const before = await h.snapshot();
    await expect(h.call('claim', 'node-1', 1, LEASE, -1, 0)).rejects.toThrow(/^LATE/);
    await expect(h.call('renew', LEASE, 'a', 1)).rejects.toThrow(/^LATE/);
    expect(await h.snapshot()).toEqual(before);
    // Within a lease of the mark it runs.
    h.now = T0 + 5_000 - LEASE;
    const [jobs] = claimed(await h.call('claim', 'node-1', 1, LEASE, -1, 0));
    expect(jobs.map((j) => j[0])).toEqual(['a']);
  });

  it('hands back what a lost claim of the owner leased, untouched since, without counting the attempt or a lapse', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a'), ...h.newJob('b'), ...h.newJob('c'), ...h.newJob('d'));
    // The lost claim: it ran, its answer never reached node-1.
    await h.call('claim', 'node-1', 2, LEASE, -1, 0);
    // node-2 claims c at the same instant; node-1 claims d in a claim it did get the answer of.
    await h.call('claim', 'node-2', 1, LEASE, -1, 0);
    await h.call('claim', 'node-1', 1, LEASE, -1, 0);
    expect(await h.job('a')).toMatchObject({ s: 'running', ow: 'node-1', a: '1' });
    h.now = T0 + 100;
    // The next claim of node-1 names the lost one (its now, its lease expiry) and keeps d.
    const [jobs] = claimed(await h.call('claim', 'node-1', 0, LEASE, -1, 0, 1, T0, T0 + LEASE, 1, 'd'));
    expect(jobs).toEqual([]);
    for (const id of ['a', 'b']) {
      const job = await h.job(id);
      expect(job).toMatchObject({ s: 'queued', a: '0' });
      expect(job.ow ?? '').toBe('');
      expect(job.st).toBeUndefined();
    }
    expect(await h.job('c')).toMatchObject({ s: 'running', ow: 'node-2' });
    expect(await h.job('d')).toMatchObject({ s: 'running', ow: 'node-1' });
    expect(await h.counts()).toMatchObject({ queued: '2', running: '2' });
    // Handed out again, they start as first attempts.
    const [again] = claimed(await h.call('claim', 'node-1', 2, LEASE, -1, 0));
    expect(again.map((j) => [j[0], j[4]])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
  });

  it('leaves a job of a lost claim that its node renewed or another node holds', async () => {
    const h = await harness();
    await h.call('enqueue', 10, '0', ...h.newJob('a'));
    await h.call('claim', 'node-1', 1, LEASE, -1, 0);
    h.now = T0 + 10;
    expect(await h.call('renew', LEASE, 'a', 1)).toEqual([1]);
    await h.call('claim', 'node-1', 0, LEASE, -1, 0, 1, T0, T0 + LEASE, 0);
    expect(await h.job('a')).toMatchObject({ s: 'running', ow: 'node-1' });
    expect(await h.client.zscore(h.key('leases'), 'a')).toBe(String(T0 + 10 + LEASE));
    await h.call('claim', 'node-2', 0, LEASE, -1, 0, 1, T0 + 10, T0 + 10 + LEASE, 0);
    expect(await h.job('a')).toMatchObject({ s: 'running', ow: 'node-1' });
  });
});
