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

/** lib.BUDGET (context.lua): units of cascade and retention work one call may do. */
const BUDGET = 200;
/** MAX_SKIPPED (claim.lua): stale queue entries one claim may read past. */
const MAX_SKIPPED = 1_000;

await describeWithRedis('function cascade (what one call may do: counted, not timed)', () => {
  const harness = useFunctionHarness();

  it('cancels at most a budget of a wide tree per call, however the slices fall', async () => {
    // Children that are parents themselves: each costs more than a leaf (its own cascade item),
    // so the budget runs out part-way through a slice of children. A slice used to take 50
    // children whatever was left of the budget.
    const h = await harness();
    await h.call('enqueue', 1_000_000, '0', ...h.newJob('p'));
    for (let i = 0; i < 1_000; i += 250) {
      const batch = [];
      for (let j = i; j < i + 250; j++) batch.push(...h.newJob(`c${j}`, { parent: 'p' }), ...h.newJob(`g${j}`, { parent: `c${j}` }));
      await h.call('enqueue', 1_000_000, '0', ...batch);
    }
    const cancelled = async () => Number((await h.counts()).cancelled ?? 0);
    const perCall: number[] = [];
    let [, pending] = (await h.call('cancel', 'p', REASON)) as [string, number];
    perCall.push(await cancelled());
    while (pending > 0) {
      const before = await cancelled();
      [pending] = (await h.call('cascade')) as [number, string];
      perCall.push((await cancelled()) - before);
    }
    expect(await cancelled()).toBe(2_001);
    // Each cancelled job took at least one unit (read and ended), so no call ended more than a budget.
    expect(Math.max(...perCall)).toBeLessThanOrEqual(BUDGET);
    expect(perCall.length).toBeGreaterThanOrEqual(Math.ceil(2_001 / BUDGET));
  });

  it('a claim skips a bounded number of stale queue entries and asks to be called again at once', async () => {
    // A cancelled 2,500-child tree leaves 2,500 stale entries in its queue (a cancel does not
    // search the list); each one a claim meets costs a read.
    const h = await harness();
    await h.call('enqueue', 1_000_000, '0', ...h.newJob('p', { name: 'root' }));
    const batch = [];
    for (let j = 0; j < 2_500; j++) batch.push(...h.newJob(`c${j}`, { parent: 'p', name: 'leaf' }));
    await h.call('enqueue', 1_000_000, '0', ...batch);
    await h.call('enqueue', 1_000_000, '0', ...h.newJob('live', { name: 'leaf' }));
    await h.call('cancel', 'p', REASON);
    await drain(h);
    expect(await h.client.llen(h.key('q:leaf'))).toBe(2_501);
    const popped: number[] = [];
    for (;;) {
      const before = await h.client.llen(h.key('q:leaf'));
      const [jobs, next] = claimed(await h.call('claim', 'node-1', 1, 60_000, 1, 'leaf', 0));
      popped.push(before - (await h.client.llen(h.key('q:leaf'))));
      if (jobs.length > 0) {
        expect(jobs[0]![0]).toBe('live');
        break;
      }
      // Nothing handed out, stale entries left: the node comes back now, not at its next poll.
      expect(next).toBe(String(h.now));
    }
    expect(Math.max(...popped)).toBeLessThanOrEqual(MAX_SKIPPED);
    expect(popped.length).toBe(Math.ceil(2_501 / MAX_SKIPPED));
  });

  it('reports retention cut short by the budget as work left, so its caller goes on', async () => {
    const h = await harness({ retentionCount: 0 });
    const n = 2 * BUDGET + 100;
    const batch = [];
    for (let j = 0; j < n; j++) batch.push(...h.newJob(`r${j}`, { name: 'plain' }));
    await h.call('enqueue', 1_000_000, '0', ...batch);
    const [jobs] = claimed(await h.call('claim', 'node-1', n, 60_000, 1, 'plain', 0));
    // The settle call drops a budget's worth of the roots it finished; the rest wait.
    await h.call('settle', ...jobs.flatMap((job) => [job[0] as string, job[1] as number, 'completed', '', '']));
    const held = await h.client.llen(h.key('roots'));
    expect(held).toBe(n - BUDGET);
    const [pending] = (await h.call('cascade')) as [number, string];
    // A budget's worth more; the call says there is more (it used to answer 0, and the rest
    // waited for the next call that happened to trim: a claim, a settle, a node's sweep).
    expect(await h.client.llen(h.key('roots'))).toBe(held - BUDGET);
    expect(pending).toBeGreaterThan(0);
    await drain(h);
    expect(await h.client.llen(h.key('roots'))).toBe(0);
    expect(await h.counts()).toMatchObject({ completed: '0' });
  });
});
