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
});
