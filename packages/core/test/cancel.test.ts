import { describe, expect, it } from 'vitest';
import { defineJob } from '@scalable-api/core';
import { gate, settle, setup, sleep } from './helpers.js';

describe('cancel', () => {
  it('cancels a queued job before it runs', async () => {
    const hold = gate();
    let ran = false;
    const blocker = defineJob({ name: 'blocker', run: () => hold.promise });
    const victim = defineJob({ name: 'victim', run: () => void (ran = true) });
    const { system } = await setup({ jobs: [blocker, victim], workers: 1 });
    await system.submit(blocker, undefined);
    const handle = await system.submit(victim, undefined);
    expect(await handle.cancel()).toBe('cancelled');
    hold.open();
    const outcome = await settle(handle.result());
    expect(outcome.ok ? null : outcome.error.code).toBe('JOB_CANCELLED');
    await new Promise((r) => setImmediate(r));
    expect(ran).toBe(false);
    expect((await system.get(handle.id))?.status).toBe('cancelled');
  });

  it('cancels a running job: its signal fires and the worker is freed', async () => {
    let aborted = false;
    const job = defineJob({
      name: 'long',
      async run(_: undefined, ctx) {
        ctx.signal.addEventListener('abort', () => (aborted = true));
        await sleep(clock, 60_000, ctx.signal);
      },
    });
    const quick = defineJob({ name: 'quick', run: () => 1 });
    const { system, clock } = await setup({ jobs: [job, quick], workers: 1 });
    const handle = await system.submit(job, undefined);
    await clock.tick();
    expect(await system.cancel(handle.id)).toBe('cancelling');
    const outcome = await settle(handle.result());
    expect(outcome.ok ? null : outcome.error.code).toBe('JOB_CANCELLED');
    expect(aborted).toBe(true);
    expect(await (await system.submit(quick, undefined)).result()).toBe(1);
  });

  it('reports settled for a finished job and not_found for an unknown id', async () => {
    const job = defineJob({ name: 'done', run: () => 1 });
    const { system } = await setup({ jobs: [job], workers: 1 });
    const handle = await system.submit(job, undefined);
    await handle.result();
    expect(await handle.cancel()).toBe('settled');
    expect(await system.cancel('nope')).toBe('not_found');
  });
});
