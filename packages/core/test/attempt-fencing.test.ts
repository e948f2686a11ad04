import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineJob } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { gate, setup } from './helpers.js';

describe('attempts keyed by (id, token)', () => {
  it('aborts the older attempt when this node claims its own job again, and the newer one keeps its lease', async () => {
    const clock = new SimulatedClock();
    const inner = createMemoryStore({ clock });
    const store = Object.create(inner) as typeof inner;
    // The fault: renewals stop for a while, as in an event-loop stall longer than the lease.
    let stalled = false;
    store.renew = (leases, leaseMs) => (stalled ? Promise.reject(new Error('stalled')) : inner.renew(leases, leaseMs));
    const gates = [gate(), gate()];
    const signals: AbortSignal[] = [];
    const job = defineJob({
      name: 'slow',
      retry: { attempts: 5 },
      async run(_: undefined, ctx) {
        signals.push(ctx.signal);
        await gates[ctx.attempt - 1]!.promise;
        return ctx.attempt;
      },
    });
    const { system } = await setup({ jobs: [job], workers: 2, clock, store, leaseMs: 300, pollMs: 100 });
    const handle = await system.submit(job, undefined);
    await clock.tick();
    expect(signals).toHaveLength(1);

    stalled = true;
    await clock.advance(350);
    // The lease ran out and the same node claimed the job again: attempt 2 runs, attempt 1 is a zombie.
    expect(signals).toHaveLength(2);
    expect(signals[0]!.aborted).toBe(true);
    expect((signals[0]!.reason as { code?: string }).code).toBe('LEASE_LOST');
    stalled = false;

    // The zombie ends; the newer attempt must still be renewed (not removed with it).
    gates[0]!.open();
    await clock.advance(2_000);
    expect(signals).toHaveLength(2);
    expect(signals[1]!.aborted).toBe(false);
    gates[1]!.open();
    expect(await handle.result()).toBe(2);
    expect((await system.get(handle.id))?.attempt).toBe(2);
  });

  it("refuses a zombie's spawn with LEASE_LOST: a node whose lease ran out adds no child", async () => {
    const clock = new SimulatedClock();
    const shared = createMemoryStore({ clock });
    // Node A's view of the shared store: every call goes to it, except renewals, which fail.
    const stalledStore = new Proxy(shared, {
      get: (target, key) => {
        if (key === 'renew') return () => Promise.reject(new Error('stalled'));
        const value: unknown = Reflect.get(target, key);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const zombie = gate();
    const finish = gate();
    const spawned: { attempt: number; outcome: string }[] = [];
    const child = defineJob({ name: 'child', run: () => 'child done' });
    const parent = defineJob({
      name: 'parent',
      async run(_: undefined, ctx) {
        if (ctx.attempt === 1) await zombie.promise;
        try {
          await ctx.spawn(child, undefined);
          spawned.push({ attempt: ctx.attempt, outcome: 'ok' });
          if (ctx.attempt === 2) await finish.promise;
        } catch (error) {
          spawned.push({ attempt: ctx.attempt, outcome: (error as { code?: string }).code ?? 'error' });
          throw error;
        }
        return ctx.attempt;
      },
    });
    // Node A claims the job and stalls (its renewals fail); node B takes the job over.
    const { system: a } = await setup({ jobs: [child, parent], workers: 1, clock, store: stalledStore, leaseMs: 300, nodeId: 'a' });
    const handle = await a.submit(parent, undefined);
    await clock.tick();
    await setup({ jobs: [child, parent], workers: 2, clock, store: shared, leaseMs: 300, pollMs: 100, nodeId: 'b' });
    await clock.advance(400);
    expect(spawned).toEqual([{ attempt: 2, outcome: 'ok' }]);
    // A does not know yet; its attempt wakes up and spawns while B's attempt still runs.
    zombie.open();
    await clock.tick();
    finish.open();
    expect(await handle.result()).toBe(2);
    expect(spawned).toEqual([
      { attempt: 2, outcome: 'ok' },
      { attempt: 1, outcome: 'LEASE_LOST' },
    ]);
    expect((await shared.children(handle.id)).length).toBe(1);
  });
});
