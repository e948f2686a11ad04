import { describe, expect, it } from 'vitest';
import type { NewJob } from '../../store/job-store.js';
import { newJob, type ConformanceContext, type ConformanceSetup } from './store-fixture.js';

/** Sizes that run in well under a second on Redis too; the memory store's own tests go to 100,000. */
const DEEP = 2_000;
const WIDE = 2_000;
const BIG_LIMIT = 100_000;

/**
 * Deep chains and wide trees: no store may need recursion proportional to a tree's depth or
 * width, nor hold itself for a whole cascade.
 *
 * What a reader sees mid-cascade. A store may bound the work of one call and continue a large
 * cascade in later calls (the Redis store, so no script holds Redis for long), or work it in
 * slices with turns of the event loop between them (the memory store, whose `cancel` and
 * `settle` still answer once it is done); until it is done a reader may see:
 * - settling up a chain: ancestors not yet reached still `waitingChildren`, their outcome held
 *   back; they settle from the leaf up, never a parent before its child;
 * - cancelling down a tree: `cancel` answers `cancelling`; descendants not yet reached keep their
 *   status (`queued`, `delayed`, `waitingChildren`), and one claimed meanwhile is cancelled like
 *   any running job once reached (its owner learns it from the signal or its next `renew`); the
 *   root, settling last, turns `cancelled` only when every descendant has settled;
 * - dropping a finished tree: the root is gone while some descendants are still readable by id;
 *   each sends its `job.dropped` as it goes, and `counts()` catches up with the drop.
 * A store continues a cascade on its own (on a later call of any kind, or a timer of its own):
 * these cases only wait, and call `claim` for a job name nobody uses while they do.
 */
export function describeDeepTrees(setup: ConformanceSetup): void {
  describe('deep and wide trees', () => {
    it(`settles a chain ${DEEP} deep whose parents completed early, from the leaf up`, async () => {
      const ctx = await setup();
      const ids = await enqueueChain(ctx, DEEP);
      for (;;) {
        const { jobs } = await ctx.claim('node-a', { max: 500, names: ['page'], leaseMs: 600_000 });
        if (jobs.length === 0) break;
        await ctx.store.settle(jobs.map((j) => ({ ...j, outcome: 'completed' as const, output: j.id })));
      }
      await eventually(ctx, async () => (await ctx.status(ids[0]!)) === 'completed');
      const records = await ctx.store.getMany(ids);
      expect(records.every((r) => r?.status === 'completed' && r.output === r.id)).toBe(true);
      expect(await ctx.store.counts()).toMatchObject({ waitingChildren: 0, running: 0, completed: DEEP + 1 });
      const [rootEnd, childEnd] = await Promise.all([lastEvent(ctx, ids[0]!), lastEvent(ctx, ids[1]!)]);
      expect(rootEnd.at).toBeGreaterThanOrEqual(childEnd.at);
    });

    it(`cancels a chain ${DEEP} deep`, async () => {
      const ctx = await setup();
      const ids = await enqueueChain(ctx, DEEP);
      expect(['cancelled', 'cancelling']).toContain(await ctx.store.cancel(ids[0]!));
      await eventually(ctx, async () => (await ctx.status(ids[0]!)) === 'cancelled');
      expect((await ctx.store.getMany(ids)).every((r) => r?.status === 'cancelled')).toBe(true);
      expect(await ctx.store.counts()).toMatchObject({ queued: 0, waitingChildren: 0, cancelled: DEEP + 1 });
      expect((await ctx.claim('node-a', { names: ['page'] })).jobs).toEqual([]);
    });

    it(`cancels a parent of ${WIDE} children, one of them running`, async () => {
      const ctx = await setup();
      const root = newJob({ name: 'root' });
      const children = Array.from({ length: WIDE }, () => newJob({ name: 'leaf', parentId: root.id }));
      await ctx.store.enqueue([root], { limit: BIG_LIMIT });
      for (let i = 0; i < WIDE; i += 500) await ctx.store.enqueue(children.slice(i, i + 500), { limit: BIG_LIMIT });
      const running = await ctx.claimOne('node-b', { names: ['leaf'] });
      expect(await ctx.store.cancel(root.id)).toBe('cancelling');
      await ctx.signals.waitFor((s) => s.type === 'job.cancel.requested' && s.id === running.id);
      await eventually(ctx, async () => (await ctx.store.counts()).cancelled === WIDE - 1);
      expect(await ctx.status(root.id)).toBe('waitingChildren');
      await ctx.store.settle([{ ...running, outcome: 'cancelled', error: { code: 'JOB_CANCELLED', message: 'stopped' } }]);
      await eventually(ctx, async () => (await ctx.status(root.id)) === 'cancelled');
      expect(await ctx.store.counts()).toMatchObject({ queued: 0, running: 0, waitingChildren: 0, cancelled: WIDE + 1 });
    });

    it(`drops a finished tree of ${WIDE} children by retention`, async () => {
      const ctx = await setup({ retention: { count: 1 } });
      const root = newJob({ name: 'root' });
      await ctx.add(root);
      const lease = await ctx.claimOne('node-a', { names: ['root'] });
      const children = Array.from({ length: WIDE }, () => newJob({ name: 'leaf', parentId: root.id }));
      for (let i = 0; i < WIDE; i += 500) await ctx.store.enqueue(children.slice(i, i + 500), { limit: BIG_LIMIT });
      await ctx.store.settle([{ ...lease, outcome: 'completed', output: null }]);
      for (;;) {
        const { jobs } = await ctx.claim('node-a', { max: 500, names: ['leaf'] });
        if (jobs.length === 0) break;
        await ctx.store.settle(jobs.map((j) => ({ ...j, outcome: 'completed' as const, output: null })));
      }
      await eventually(ctx, async () => (await ctx.status(root.id)) === 'completed');
      // A second finished root pushes the first out (retention count 1).
      await ctx.add(newJob({ name: 'next' }));
      await ctx.store.settle([{ ...(await ctx.claimOne('node-a', { names: ['next'] })), outcome: 'completed', output: null }]);
      await eventually(ctx, async () => (await ctx.store.counts()).completed === 1);
      expect(await ctx.store.get(root.id)).toBeUndefined();
      expect((await ctx.store.getMany(children.map((c) => c.id))).every((r) => r === undefined)).toBe(true);
      await ctx.signals.waitFor((s) => s.type === 'job.dropped' && s.id === children.at(-1)!.id);
    });
  });
}

/** A chain `ids[0] <- ids[1] <- …`, each the child of the one before, all queued. */
async function enqueueChain(ctx: ConformanceContext, depth: number): Promise<string[]> {
  const jobs: NewJob[] = [];
  for (let i = 0; i <= depth; i++) jobs.push(newJob({ name: 'page', parentId: jobs[i - 1]?.id }));
  for (let i = 0; i < jobs.length; i += 500) {
    const outcomes = await ctx.store.enqueue(jobs.slice(i, i + 500), { limit: BIG_LIMIT });
    expect(outcomes.every((o) => o.ok)).toBe(true);
  }
  return jobs.map((j) => j.id);
}

async function lastEvent(ctx: ConformanceContext, id: string) {
  const events = await ctx.store.events(id, 0);
  return events.at(-1)!;
}

/** Waits, bounded in real time, for a cascade the store may continue over later calls. */
async function eventually(ctx: ConformanceContext, done: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`the cascade did not finish within ${timeoutMs} ms`);
    await ctx.claim('cascade-reader', { names: ['no-such-job'] });
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
