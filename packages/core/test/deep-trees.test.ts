import { describe, expect, it } from 'vitest';
import { defineJob, type AnyJobDefinition, type JobContext } from '@scalable-api/core';
import type { NewJob } from '../src/store/job-store.js';
import { createMemoryStore } from '../src/store/memory-store.js';
import { CASCADE_SLICE } from '../src/store/memory-tree.js';
import { SimulatedClock } from '../src/testing/index.js';
import { setup } from './helpers.js';

// Cascades in the memory store (settle up a chain, cancel down a tree, drop by retention) work
// from lists, not by recursion: depth and width cost heap, never stack.

const LIMIT = 1_000_000;

function store(options: Parameters<typeof createMemoryStore>[0] = {}) {
  return createMemoryStore({ clock: new SimulatedClock(), ...options });
}

/** A chain `c0 <- c1 <- … <- c{depth}`, each the child of the one before, all queued. */
function chain(depth: number): NewJob[] {
  return Array.from({ length: depth + 1 }, (_, i) => ({
    id: `c${i}`,
    name: 'page',
    input: null,
    priority: 0,
    parentId: i === 0 ? undefined : `c${i - 1}`,
  }));
}

describe('the memory store’s cascades', () => {
  it('cancels a chain 100,000 deep', async () => {
    const s = store();
    await s.enqueue(chain(100_000), { limit: LIMIT });
    expect(await s.cancel('c0')).toBe('cancelled');
    expect(await s.counts()).toMatchObject({ queued: 0, waitingChildren: 0, cancelled: 100_001 });
    expect(await s.get('c100000')).toMatchObject({ status: 'cancelled', rootId: 'c0' });
  });

  it('cancels a parent of 100,000 children, a running one last', async () => {
    const s = store();
    const children = Array.from({ length: 100_000 }, (_, i): NewJob => ({ id: `k${i}`, name: 'leaf', input: null, priority: 0, parentId: 'root' }));
    await s.enqueue([{ id: 'root', name: 'root', input: null, priority: 0 }, ...children], { limit: LIMIT });
    const [running] = (await s.claim({ owner: 'a', max: 1, leaseMs: 1_000, names: ['leaf'] })).jobs;
    expect(await s.cancel('root')).toBe('cancelling');
    expect(await s.counts()).toMatchObject({ queued: 0, running: 1, waitingChildren: 1, cancelled: 99_999 });
    await s.settle([{ ...running!, outcome: 'cancelled', error: { code: 'JOB_CANCELLED', message: 'stopped' } }]);
    expect(await s.get('root')).toMatchObject({ status: 'cancelled' });
  });

  it('cancels 100,000 children a slice at a time, letting the event loop run in between', async () => {
    const s = store();
    const children = Array.from({ length: 100_000 }, (_, i): NewJob => ({ id: `k${i}`, name: 'leaf', input: null, priority: 0, parentId: 'root' }));
    await s.enqueue([{ id: 'root', name: 'root', input: null, priority: 0 }, ...children], { limit: LIMIT });
    // What other callbacks of the process see while the cancel is under way: it used to be one
    // synchronous stretch (0.4-1.2 s for this tree on the 2-core machine) that nothing could see into.
    const seen: number[] = [];
    let watching = true;
    const watch = () => {
      if (!watching) return;
      void s.counts().then((c) => seen.push(c.cancelled));
      setImmediate(watch);
    };
    setImmediate(watch);
    expect(await s.cancel('root')).toBe('cancelled');
    watching = false;
    expect(await s.counts()).toMatchObject({ queued: 0, waitingChildren: 0, cancelled: 100_001 });
    const midway = seen.filter((n) => n > 0 && n < 100_001);
    // At least one turn per slice of the cascade (memory-tree.ts, CASCADE_SLICE).
    expect(midway.length).toBeGreaterThanOrEqual(100_000 / CASCADE_SLICE - 1);
  });

  it('settles a chain 100,000 deep whose parents all completed early, from the leaf up', async () => {
    const s = store({ retention: { count: 0 } });
    const dropped: string[] = [];
    s.subscribe((signal) => void (signal.type === 'job.dropped' && dropped.push(signal.id)));
    const jobs = chain(100_000);
    await s.enqueue(jobs, { limit: LIMIT });
    for (;;) {
      const { jobs: claimed } = await s.claim({ owner: 'a', max: 1_000, leaseMs: 60_000, names: ['page'] });
      if (claimed.length === 0) break;
      await s.settle(claimed.map((j) => ({ ...j, outcome: 'completed' as const, output: j.id })));
    }
    // The leaf settled last of all, so every parent settled in one cascade; the finished tree
    // then left by retention (count 0), dropped as a whole.
    expect(dropped).toHaveLength(100_001);
    expect(await s.counts()).toMatchObject({ queued: 0, running: 0, waitingChildren: 0, completed: 0 });
    expect(await s.get('c0')).toBeUndefined();
  });
});

describe('a pagination chain through the job system', () => {
  interface Page {
    n: number;
  }
  const page: AnyJobDefinition = defineJob({
    name: 'page',
    async run(input: Page, ctx: JobContext): Promise<Page> {
      // Each page starts the next and returns without waiting for it.
      if (input.n > 1) void ctx.spawn(page, { n: input.n - 1 });
      return input;
    },
  });

  it('completes 5,000 pages deep, every parent settled after its child', async () => {
    const { system } = await setup({ jobs: [page], workers: 4, queue: { limit: 20_000 } });
    const handle = await system.submit(page, { n: 5_000 });
    expect(await handle.result()).toEqual({ n: 5_000 });
    const stats = await system.stats();
    expect(stats.completed).toBe(5_000);
    expect(stats.waitingParents).toBe(0);
  });
});
