import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineJob, SystemStateError, type JobStore } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { settle, setup } from './helpers.js';

/**
 * A memory store whose settle fails a given number of times. A mock only for the fault itself
 * (an in-process store cannot become unreachable for real); everything else is the real store.
 */
function flakyStore(
  clock: SimulatedClock,
  failures: number,
  error: () => Error = () => new Error('store unreachable'),
): JobStore & { failed: number } {
  const inner = createMemoryStore({ clock });
  const store = Object.create(inner) as JobStore & { failed: number };
  store.failed = 0;
  store.settle = (settlements) => {
    if (store.failed < failures) {
      store.failed++;
      return Promise.reject(error());
    }
    return inner.settle(settlements);
  };
  return store;
}

describe('supervision', () => {
  it('restarts a crashed worker one-for-one and the job runs again after its lease runs out', async () => {
    const clock = new SimulatedClock();
    let runs = 0;
    const job = defineJob({ name: 'work', run: () => ++runs });
    const { system } = await setup({ jobs: [job], workers: 2, clock, store: flakyStore(clock, 1), leaseMs: 3_000 });
    const before = (await system.stats()).actors;
    const handle = await system.submit(job, undefined);
    await clock.tick();
    expect((await system.stats()).restarts).toBe(1);
    expect((await system.stats()).actors).toBe(before);
    await clock.advance(5_000);
    expect(await handle.result()).toBe(2);
    expect(system.health()).toBe('healthy');
  });

  it('turns unhealthy past the restart intensity and refuses work instead of spinning', async () => {
    const clock = new SimulatedClock();
    const job = defineJob({ name: 'work', run: () => 1 });
    const { system } = await setup({
      jobs: [job],
      workers: 4,
      clock,
      store: flakyStore(clock, 100),
      restartIntensity: { maxRestarts: 2, withinMs: 60_000 },
    });
    await Promise.all(Array.from({ length: 4 }, () => system.submit(job, undefined)));
    await clock.tick();
    expect(system.health()).toBe('unhealthy');
    // Two restarts were allowed; the third crash tripped the intensity and was not restarted.
    expect((await system.stats()).restarts).toBeGreaterThanOrEqual(3);
    const refused = await settle(system.submit(job, undefined));
    expect(refused.ok ? null : refused.error.code).toBe('UNHEALTHY');
  });

  it('comes back after a cool-down of one intensity window once the store works again', async () => {
    const clock = new SimulatedClock();
    // One failed settle batch carries the three results: three workers crash at once.
    const store = flakyStore(clock, 1);
    const job = defineJob({ name: 'work', run: () => 'ok' });
    const { system } = await setup({ jobs: [job], workers: 3, clock, store, leaseMs: 3_000, restartIntensity: { maxRestarts: 2, withinMs: 10_000 } });
    const handles = await Promise.all(Array.from({ length: 3 }, () => system.submit(job, undefined)));
    await clock.tick();
    expect(system.health()).toBe('unhealthy');
    await clock.advance(9_999);
    expect(system.health()).toBe('unhealthy');
    await clock.advance(1);
    expect(system.health()).toBe('healthy');
    // The jobs whose results were lost run again once their leases run out.
    await clock.advance(5_000);
    expect(await Promise.all(handles.map((h) => h.result()))).toEqual(['ok', 'ok', 'ok']);
    const stats = await system.stats();
    expect(stats.workers).toBe(3);
    expect(stats.idleWorkers).toBe(3);
  });
});

describe('a store outage while settling', () => {
  it('sends the settlement again with back-off instead of crashing workers, so the job runs once', async () => {
    const clock = new SimulatedClock();
    let runs = 0;
    const job = defineJob({ name: 'work', run: () => ++runs });
    // What the Redis store throws while Redis restarts.
    const store = flakyStore(clock, 5, () => new SystemStateError('STORE_UNAVAILABLE', 'Redis: Connection is closed.'));
    const { system } = await setup({
      jobs: [job],
      workers: 2,
      clock,
      store,
      leaseMs: 30_000,
      restartIntensity: { maxRestarts: 1, withinMs: 60_000 },
    });
    const handle = await system.submit(job, undefined);
    await clock.tick();
    expect(store.failed).toBe(1);
    await clock.advance(5_000);
    expect(store.failed).toBe(5);
    expect(await handle.result()).toBe(1);
    expect(runs).toBe(1);
    const stats = await system.stats();
    expect(stats.restarts).toBe(0);
    expect(system.health()).toBe('healthy');
  });
});

describe('stop', () => {
  it('drains: queued and running jobs finish before stop resolves, new submits are refused', async () => {
    const done: number[] = [];
    const clock = new SimulatedClock();
    const job = defineJob({
      name: 'work',
      run: (input: { n: number }) => new Promise<void>((resolve) => clock.setTimeout(() => resolve(void done.push(input.n)), 100)),
    });
    const { system } = await setup({ jobs: [job], workers: 1, clock });
    for (let n = 0; n < 3; n++) await system.submit(job, { n });
    const stopping = system.stop({ drain: true, timeoutMs: 10_000 });
    const refused = await settle(system.submit(job, { n: 9 }));
    expect(refused.ok ? null : refused.error.code).toBe('SHUTTING_DOWN');
    await clock.advance(1_000);
    await stopping;
    expect(done).toEqual([0, 1, 2]);
    expect(system.health()).toBe('stopped');
  });

  it('without drain aborts running jobs (their signal fires) and stops at once', async () => {
    const clock = new SimulatedClock();
    let reason: { code?: string } | undefined;
    const job = defineJob({
      name: 'long',
      run: (_: undefined, ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject((reason = ctx.signal.reason as Error & { code?: string })))),
    });
    const { system } = await setup({ jobs: [job], workers: 1, clock });
    await system.submit(job, undefined);
    await clock.tick();
    await system.stop({ drain: false });
    expect(reason?.code).toBe('SHUTTING_DOWN');
    expect(system.health()).toBe('stopped');
  });
});
