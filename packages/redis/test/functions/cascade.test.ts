import { expect, it } from 'vitest';
import { describeWithRedis } from '../redis-fixture.js';
import { claimed, useFunctionHarness, type FunctionHarness } from './function-harness.js';

const REASON = '{"code":"JOB_CANCELLED","message":"stop"}';
/** More jobs than one call's budget (1,000 units) covers. */
const MANY = 2_500;

/** Calls `cascade` until no work is left; answers how many calls that took. */
async function drain(h: FunctionHarness): Promise<number> {
  for (let calls = 1; ; calls++) {
    const [pending] = (await h.call('cascade')) as [number, string];
    if (pending === 0) return calls;
  }
}

async function chain(h: FunctionHarness, depth: number) {
  for (let i = 0; i < depth; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(depth, i + 500); j++) batch.push(...h.newJob(`j${j}`, j === 0 ? {} : { parent: `j${j - 1}` }));
    await h.call('enqueue', 1_000_000, '0', ...batch);
  }
}

await describeWithRedis('function cascade (bounded cascades)', () => {
  const harness = useFunctionHarness();

  it('cancels a chain deeper than one call can, in further calls, leaving the rest as durable work', async () => {
    const h = await harness();
    await chain(h, MANY);
    const [outcome, pending] = (await h.call('cancel', 'j0', REASON)) as [string, number];
    expect(outcome).toBe('cancelling');
    expect(pending).toBeGreaterThan(0);
    expect(await h.client.llen(h.key('work'))).toBe(pending);
    expect(await drain(h)).toBeGreaterThan(1);
    const statuses = await Promise.all([0, 1, MANY / 2, MANY - 1].map(async (i) => (await h.job(`j${i}`)).s));
    expect(statuses).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(await h.counts()).toMatchObject({ queued: '0', waitingChildren: '0', cancelled: String(MANY) });
    expect(await h.client.exists(h.key('work'))).toBe(0);
  });

  it('walks a cancelled chain of running parents once, however many of them settle on their own afterwards', async () => {
    // Every job a running parent waiting for its child, as a node holds it; each node settles its
    // job cancelled once it hears of the cancel. A settle cancels the job's children again (it may
    // have spawned more meanwhile), but children already asked to stop are not walked again: before,
    // each settle walked the rest of the chain once more (chaos deep-trees: 31,000 cascade items
    // queued after 364 of 100,000 jobs were cancelled).
    const h = await harness();
    const depth = 600;
    for (let i = 0; i < depth; i++) {
      await h.call('enqueue', 1_000_000, '0', ...h.newJob(`j${i}`, i === 0 ? {} : { parent: `j${i - 1}`, parentToken: 1 }));
      const [jobs] = claimed(await h.call('claim', 'node-1', 1, 60_000, -1, 0));
      expect(jobs.map((j) => j[0])).toEqual([`j${i}`]);
      expect(await h.call('set_waiting', `j${i}`, 1, '1')).toBe(1);
    }
    await h.call('cancel', 'j0', REASON);
    await drain(h);
    const left: number[] = [];
    for (let i = 0; i < depth - 1; i++) {
      const [, pending] = (await h.call('settle', `j${i}`, 1, 'cancelled', REASON, '')) as [number[], number];
      left.push(pending);
    }
    expect(left.filter((pending) => pending > 0)).toEqual([]);
    // The leaf's settlement ends the chain from the bottom up, over several calls.
    await h.call('settle', `j${depth - 1}`, 1, 'cancelled', REASON, '');
    await drain(h);
    expect(await h.counts()).toMatchObject({ running: '0', waitingChildren: '0', cancelled: String(depth) });
  });

  it('cancels a parent with more children than one call can, a slice at a time', async () => {
    const h = await harness();
    await h.call('enqueue', 1_000_000, '0', ...h.newJob('p'));
    for (let i = 0; i < MANY; i += 500) {
      const batch = [];
      for (let j = i; j < i + 500; j++) batch.push(...h.newJob(`c${j}`, { parent: 'p' }));
      await h.call('enqueue', 1_000_000, '0', ...batch);
    }
    const [outcome, pending] = (await h.call('cancel', 'p', REASON)) as [string, number];
    expect([outcome, pending > 0]).toEqual(['cancelling', true]);
    await drain(h);
    expect((await h.job('p')).s).toBe('cancelled');
    expect(await h.counts()).toMatchObject({ queued: '0', waitingChildren: '0', cancelled: String(MANY + 1) });
  });

  it('drops a finished tree wider than one call can out of retention, over several calls', async () => {
    const h = await harness({ retentionCount: 0 });
    await h.call('enqueue', 1_000_000, '0', ...h.newJob('p'));
    await h.call('claim', 'node-1', 1, 60_000, -1, 0);
    for (let i = 0; i < MANY; i += 500) {
      const batch = [];
      for (let j = i; j < i + 500; j++) batch.push(...h.newJob(`c${j}`, { parent: 'p', name: 'leaf' }));
      await h.call('enqueue', 1_000_000, '0', ...batch);
    }
    // The parent completes early and waits; its children complete; it then settles and leaves.
    await h.call('settle', 'p', 1, 'completed', '', '');
    for (let i = 0; i < MANY; i += 500) {
      const [jobs] = claimed(await h.call('claim', 'node-1', 500, 60_000, 1, 'leaf', 0));
      await h.call('settle', ...jobs.flatMap((j) => [j[0] as string, j[1] as number, 'completed', '', '']));
    }
    await drain(h);
    expect(await h.job('p')).toEqual({});
    expect(await h.job(`c${MANY - 1}`)).toEqual({});
    expect(await h.counts()).toMatchObject({ completed: '0', running: '0', waitingChildren: '0' });
    expect(await h.client.exists(h.key('c:p'), h.key('work'), h.key('roots'))).toBe(0);
  });
});
