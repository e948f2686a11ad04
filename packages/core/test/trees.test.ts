import { describe, expect, it } from 'vitest';
import { defineJob, type AnyJobDefinition, type JobContext } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { settle, setup, sleep } from './helpers.js';

interface FanInput {
  depth: number;
  width: number;
}

const fanout: AnyJobDefinition = defineJob({
  name: 'fanout',
  async run(input: FanInput, ctx: JobContext): Promise<{ leaves: number }> {
    if (input.depth === 0) return { leaves: 1 };
    const children = Array.from(
      { length: input.width },
      (_, i) => ctx.spawn(fanout, { depth: input.depth - 1, width: input.width }, { key: `c${i}` }) as Promise<{ leaves: number }>,
    );
    const results = await Promise.all(children);
    return { leaves: results.reduce((sum, r) => sum + r.leaves, 0) };
  },
});

describe('job trees', () => {
  it('completes a tree of depth 6 and width 3 with a single worker', async () => {
    const { system } = await setup({ jobs: [fanout], workers: 1 });
    const handle = await system.submit(fanout, { depth: 6, width: 3 });
    expect(await handle.result()).toEqual({ leaves: 729 });
    const stats = await system.stats();
    expect(stats.completed).toBe(1 + 3 + 9 + 27 + 81 + 243 + 729);
    expect(stats.waitingParents).toBe(0);
  });

  it('fans in 10,000 children', async () => {
    const leaf = defineJob({ name: 'leaf', run: (input: { i: number }) => input.i });
    const parent = defineJob({
      name: 'sum',
      async run(input: { n: number }, ctx) {
        const values = await Promise.all(Array.from({ length: input.n }, (_, i) => ctx.spawn(leaf, { i })));
        return values.reduce((a, b) => a + b, 0);
      },
    });
    const { system } = await setup({ jobs: [leaf, parent], workers: 8, queue: { limit: 20_000 } });
    const handle = await system.submit(parent, { n: 10_000 });
    expect(await handle.result()).toBe((10_000 * 9_999) / 2);
  });

  it("'fail-parent' (default) fails the parent with CHILD_FAILED and cancels its other children", async () => {
    const clock = new SimulatedClock();
    const bad = defineJob({ name: 'bad', run: () => Promise.reject(new Error('child broke')) });
    const slow = defineJob({ name: 'slow', run: (_: undefined, ctx) => sleep(clock, 60_000, ctx.signal) });
    const parent = defineJob({
      name: 'parent',
      async run(_: undefined, ctx) {
        await Promise.all([ctx.spawn(slow, undefined), ctx.spawn(slow, undefined), ctx.spawn(bad, undefined)]);
      },
    });
    const { system } = await setup({ jobs: [bad, slow, parent], workers: 4, clock });
    const handle = await system.submit(parent, undefined);
    const outcome = await settle(handle.result());
    expect(outcome.ok ? null : outcome.error.code).toBe('CHILD_FAILED');
    await clock.tick();
    const tree = await system.tree(handle.id);
    expect(tree?.status).toBe('failed');
    expect(tree?.children.map((c) => c.status).sort()).toEqual(['cancelled', 'cancelled', 'failed']);
  });

  it("'continue' hands the failure to the parent as a value", async () => {
    const bad = defineJob({ name: 'bad', run: () => Promise.reject(new Error('nope')) });
    const good = defineJob({ name: 'good', run: () => 'fine' });
    const parent = defineJob({
      name: 'parent',
      async run(_: undefined, ctx) {
        const results = await Promise.all([
          ctx.spawn(good, undefined, { onFailure: 'continue' }),
          ctx.spawn(bad, undefined, { onFailure: 'continue' }),
        ]);
        return results.map((r) => (r.status === 'completed' ? r.output : r.error.code));
      },
    });
    const { system } = await setup({ jobs: [bad, good, parent], workers: 2 });
    expect(await (await system.submit(parent, undefined)).result()).toEqual(['fine', 'JOB_FAILED']);
  });

  it("'ignore' resolves a failed child as undefined and the parent completes", async () => {
    const bad = defineJob({ name: 'bad', run: () => Promise.reject(new Error('nope')) });
    const parent = defineJob({
      name: 'parent',
      async run(_: undefined, ctx) {
        return { got: (await ctx.spawn(bad, undefined, { onFailure: 'ignore' })) ?? 'nothing' };
      },
    });
    const { system } = await setup({ jobs: [bad, parent], workers: 1 });
    expect(await (await system.submit(parent, undefined)).result()).toEqual({ got: 'nothing' });
  });

  it('cancelling a root stops its 50 running descendants and leaves the actor count where it was', async () => {
    const clock = new SimulatedClock();
    let aborted = 0;
    let started = 0;
    const child = defineJob({
      name: 'child',
      async run(_: undefined, ctx) {
        started++;
        ctx.signal.addEventListener('abort', () => aborted++);
        await sleep(clock, 3_600_000, ctx.signal);
      },
    });
    const root = defineJob({
      name: 'root',
      async run(_: undefined, ctx) {
        await Promise.all(Array.from({ length: 50 }, () => ctx.spawn(child, undefined)));
      },
    });
    const { system } = await setup({ jobs: [child, root], workers: 60, clock });
    const baseline = (await system.stats()).actors;
    const handle = await system.submit(root, undefined);
    await clock.tick();
    expect(started).toBe(50);
    expect((await system.stats()).actors).toBe(baseline + 1);
    expect(await handle.cancel()).toBe('cancelling');
    const outcome = await settle(handle.result());
    expect(outcome.ok ? null : outcome.error.code).toBe('JOB_CANCELLED');
    await clock.tick();
    expect(aborted).toBe(50);
    const stats = await system.stats();
    expect(stats.actors).toBe(baseline);
    expect(stats.running + stats.queued + stats.waitingChildren).toBe(0);
    expect(stats.cancelled).toBe(51);
  });

  it("a parent's timeout cascades to its running children", async () => {
    const clock = new SimulatedClock();
    let aborted = 0;
    const child = defineJob({
      name: 'child',
      async run(_: undefined, ctx) {
        ctx.signal.addEventListener('abort', () => aborted++);
        await sleep(clock, 3_600_000, ctx.signal);
      },
    });
    const parent = defineJob({
      name: 'parent',
      timeoutMs: 1_000,
      async run(_: undefined, ctx) {
        await Promise.all([ctx.spawn(child, undefined), ctx.spawn(child, undefined)]);
      },
    });
    const { system } = await setup({ jobs: [child, parent], workers: 3, clock });
    const handle = await system.submit(parent, undefined);
    await clock.advance(1_000);
    const outcome = await settle(handle.result());
    expect(outcome.ok ? null : outcome.error.code).toBe('JOB_TIMEOUT');
    await clock.tick();
    expect(aborted).toBe(2);
    const tree = await system.tree(handle.id);
    expect(tree?.children.map((c) => c.status)).toEqual(['cancelled', 'cancelled']);
  });

  it('a spawn key returns the existing child, so a re-run parent reuses finished children', async () => {
    let childRuns = 0;
    const child = defineJob({ name: 'child', run: (input: { n: number }) => (childRuns++, input.n * 10) });
    const parent = defineJob({
      name: 'parent',
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 0 } },
      async run(_: undefined, ctx) {
        const a = await ctx.spawn(child, { n: 1 }, { key: 'a' });
        const again = await ctx.spawn(child, { n: 1 }, { key: 'a' });
        if (ctx.attempt === 1) throw new Error('crash after the child finished');
        return [a, again];
      },
    });
    const { system } = await setup({ jobs: [child, parent], workers: 1 });
    const handle = await system.submit(parent, undefined);
    expect(await handle.result()).toEqual([10, 10]);
    expect(childRuns).toBe(1);
    expect((await system.tree(handle.id))?.children).toHaveLength(1);
  });

  it('a waiting parent gives its worker back and is counted against its own bound', async () => {
    const clock = new SimulatedClock();
    const child = defineJob({ name: 'child', run: (_: undefined, ctx) => sleep(clock, 100, ctx.signal) });
    const parent = defineJob({ name: 'parent', run: (_: undefined, ctx) => ctx.spawn(child, undefined) });
    const { system } = await setup({ jobs: [child, parent], workers: 2, clock, trees: { maxWaitingParents: 1 } });
    const first = await system.submit(parent, undefined);
    const second = await system.submit(parent, undefined);
    await clock.tick();
    const stats = await system.stats();
    expect(stats.waitingParents).toBe(1);
    expect(stats.waitingChildren).toBe(1);
    // The first parent's worker now runs its child: the parent holds no worker while it waits.
    expect(stats.running).toBe(1);
    const refused = await settle(second.result());
    expect(refused.ok ? null : refused.error.code).toBe('WAITING_PARENTS_FULL');
    await clock.advance(1_000);
    await first.result();
    expect((await system.stats()).waitingParents).toBe(0);
  });

  it('runs a declared tree: children first, then the parent with their results', async () => {
    const order: string[] = [];
    const part = defineJob({ name: 'part', run: (input: { n: number }) => (order.push(`part${input.n}`), input.n) });
    const bad = defineJob({ name: 'bad', run: () => Promise.reject(new Error('x')) });
    const total = defineJob({
      name: 'total',
      async run(_: undefined, ctx) {
        order.push('total');
        const children = await ctx.children();
        return children.map((c) => (c.status === 'completed' ? c.output : c.error.code));
      },
    });
    const { system } = await setup({ jobs: [part, bad, total], workers: 2 });
    const handle = await system.submitTree({
      job: total,
      input: undefined,
      children: [
        { job: part, input: { n: 1 } },
        { job: part, input: { n: 2 } },
        { job: bad, input: undefined, onFailure: 'continue' },
      ],
    });
    expect(handle.status).toBe('waitingChildren');
    expect(await handle.result()).toEqual([1, 2, 'JOB_FAILED']);
    expect(order.at(-1)).toBe('total');

    const failing = await system.submitTree({ job: total, input: undefined, children: [{ job: bad, input: undefined }] });
    const outcome = await settle(failing.result());
    expect(outcome.ok ? null : outcome.error.code).toBe('CHILD_FAILED');
  });

  it('shows the tree with statuses and aggregated progress, and events carry parent and root ids', async () => {
    const { system } = await setup({ jobs: [fanout], workers: 2 });
    const events = system.events();
    const handle = await system.submit(fanout, { depth: 2, width: 2 });
    await handle.result();
    const tree = await system.tree(handle.id);
    expect(tree?.children).toHaveLength(2);
    expect(tree?.children[0]?.children).toHaveLength(2);
    expect(tree?.aggregateProgress).toBe(1);
    const seen: { id: string; parentId: string | undefined; rootId: string }[] = [];
    for (;;) {
      const { value } = await events.next();
      if (value.type === 'job.completed') seen.push(value);
      if (value.type === 'job.completed' && value.id === handle.id) break;
    }
    await events.return?.();
    expect(seen).toHaveLength(7);
    expect(seen.every((e) => e.rootId === handle.id)).toBe(true);
    expect(seen.filter((e) => e.parentId === handle.id)).toHaveLength(2);
  });
});
