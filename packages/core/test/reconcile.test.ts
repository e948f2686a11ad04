import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineJob, type JobEvent, type StoreSignal } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { gate, lossyStore, setup, sleep } from './helpers.js';

const settledOf = (name: string) => (signal: StoreSignal) =>
  signal.type === 'job.event' && signal.event.name === name && (signal.event.type === 'job.completed' || signal.event.type === 'job.failed');

/** Watches a promise without awaiting it, so a test can assert it has not settled yet. */
function watch<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

describe('reconciliation: signals are hints', () => {
  it('settles handle.result() within one interval when the completion signal was lost', async () => {
    const clock = new SimulatedClock();
    const store = lossyStore(createMemoryStore({ clock }), settledOf('quiet'));
    const release = gate();
    const quiet = defineJob({ name: 'quiet', run: () => release.promise.then(() => 'done') });
    const { system } = await setup({ jobs: [quiet], workers: 1, clock, store, reconcileMs: 2_000 });
    const result = watch((await system.submit(quiet, undefined)).result());
    await clock.tick();
    release.open();
    await clock.tick();
    expect(result.settled).toBe(false);
    await clock.advance(2_000);
    expect(result).toMatchObject({ settled: true, value: 'done' });
  });

  it("lets a waiting parent complete when its child's settlement signal was lost", async () => {
    const clock = new SimulatedClock();
    const store = lossyStore(createMemoryStore({ clock }), settledOf('child'));
    const child = defineJob({ name: 'child', run: (input: { n: number }) => input.n * 2 });
    const parent = defineJob({ name: 'parent', run: async (_: undefined, ctx) => ctx.spawn(child, { n: 21 }) });
    const { system } = await setup({ jobs: [child, parent], workers: 1, clock, store, reconcileMs: 2_000 });
    const handle = await system.submit(parent, undefined);
    const result = watch(handle.result());
    await clock.tick();
    expect((await system.get(handle.id))?.status).toBe('waitingChildren');
    await clock.advance(2_000);
    expect(result).toMatchObject({ settled: true, value: 42 });
  });

  it('gives an events({ jobId }) stream the events it missed, in order and once', async () => {
    const clock = new SimulatedClock();
    let dropping = true;
    const store = lossyStore(createMemoryStore({ clock }), (s) => dropping && s.type === 'job.event' && s.event.name === 'steps');
    const begin = gate();
    const release = gate();
    const steps = defineJob({
      name: 'steps',
      async run(_: undefined, ctx) {
        await begin.promise;
        ctx.progress(0.5);
        await release.promise;
        return 'ok';
      },
    });
    const { system } = await setup({ jobs: [steps], workers: 1, clock, store, reconcileMs: 2_000 });
    const handle = await system.submit(steps, undefined);
    await clock.tick();
    const seen: JobEvent[] = [];
    const reading = (async () => {
      for await (const event of system.events({ jobId: handle.id })) {
        seen.push(event);
        if (event.type === 'job.completed') return;
      }
    })();
    await clock.tick();
    begin.open();
    await clock.tick();
    release.open();
    await clock.tick();
    dropping = false;
    expect(seen).toEqual([]);
    await clock.advance(2_000);
    await reading;
    // The stream began after the job started: what it missed is everything after that.
    expect(seen.map((e) => e.type)).toEqual(['job.progress', 'job.completed']);
    expect(seen.map((e) => e.seq)).toEqual([...seen.map((e) => e.seq)].sort((a, b) => a - b));
  });

  it('reconciles at once when the store reports signals.resumed', async () => {
    const clock = new SimulatedClock();
    const store = lossyStore(createMemoryStore({ clock }), settledOf('quiet'));
    const release = gate();
    const quiet = defineJob({ name: 'quiet', run: () => release.promise.then(() => 'done') });
    const { system } = await setup({ jobs: [quiet], workers: 1, clock, store, reconcileMs: 3_600_000 });
    const result = watch((await system.submit(quiet, undefined)).result());
    await clock.tick();
    release.open();
    await clock.tick();
    expect(result.settled).toBe(false);
    store.resume();
    await clock.tick();
    expect(result).toMatchObject({ settled: true, value: 'done' });
  });

  it('does not drop a cancel that arrives before the claim of its job has come back', async () => {
    const clock = new SimulatedClock();
    const inner = createMemoryStore({ clock });
    const store = lossyStore(inner, () => false);
    const claimBack = gate();
    // A remote store: the claim is a round trip, held open here until the cancel has been sent.
    Object.defineProperty(store, 'claimNow', { value: undefined });
    store.claim = async (request) => {
      const result = await inner.claim(request);
      if (result.jobs.length > 0) await claimBack.promise;
      return result;
    };
    const started: string[] = [];
    const patient = defineJob({
      name: 'patient',
      async run(_: undefined, ctx) {
        started.push(ctx.id);
        await sleep(clock, 3_600_000, ctx.signal);
      },
    });
    // Renewals every 20 min: a cancel that waited for one would not arrive in this test.
    const { system } = await setup({ jobs: [patient], workers: 1, clock, store, leaseMs: 3_600_000 });
    const handle = await system.submit(patient, undefined);
    await clock.tick();
    expect((await system.get(handle.id))?.status).toBe('running');
    expect(await handle.cancel()).toBe('cancelling');
    claimBack.open();
    const result = watch(handle.result());
    await clock.tick();
    expect(result.settled).toBe(true);
    expect((result.error as { code?: string }).code).toBe('JOB_CANCELLED');
    expect((await system.get(handle.id))?.status).toBe('cancelled');
  });
});
