import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineJob, type NewJob } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { setup } from './helpers.js';

describe('no recursion proportional to depth (runtime side)', () => {
  it('reads a 30,000-deep chain with system.tree() and aggregates its progress', async () => {
    const clock = new SimulatedClock();
    const store = createMemoryStore({ clock });
    // The chain's jobs are not registered here, so nothing claims them: only the read is tested.
    const other = defineJob({ name: 'other', run: () => 1 });
    const depth = 30_000;
    const chain: NewJob[] = [];
    for (let i = 0; i < depth; i++) {
      chain.push({
        id: `p${i}`,
        name: 'page',
        input: null,
        priority: 0,
        parentId: i === 0 ? undefined : `p${i - 1}`,
        awaitChildren: i < depth - 1 ? 1 : undefined,
      });
    }
    await store.enqueue(chain, { limit: depth * 2, atomic: true });
    const { system } = await setup({ jobs: [other], workers: 1, clock, store });
    const root = await system.tree('p0', { maxNodes: depth });
    let levels = 0;
    for (let node = root; node; node = node.children[0]) levels++;
    expect(levels).toBe(depth);
    expect(root?.aggregateProgress).toBe(0);
  });

  it('flattens a declared tree 20,000 deep in declaration order', async () => {
    const clock = new SimulatedClock();
    const page = defineJob({ name: 'page', run: () => new Promise(() => {}) });
    const { system } = await setup({ jobs: [page], workers: 1, clock, queue: { limit: 50_000 } });
    type Spec = { job: typeof page; input: undefined; children?: Spec[] };
    const root: Spec = { job: page, input: undefined };
    let node = root;
    for (let i = 1; i < 20_000; i++) {
      const child: Spec = { job: page, input: undefined };
      node.children = [child];
      node = child;
    }
    const handle = await system.submitTree(root);
    expect((await system.get(handle.id))?.status).toBe('waitingChildren');
  });
});
