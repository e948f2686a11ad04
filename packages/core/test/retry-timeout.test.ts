import { describe, expect, it } from 'vitest';
import { defineJob, JobError, NonRetryableError } from '@scalable-api/core';
import { settle, setup, sleep } from './helpers.js';

describe('retries', () => {
  it('retries with exponential back-off and succeeds on the attempt after the failures', async () => {
    const startedAt: number[] = [];
    const flaky = defineJob({
      name: 'flaky',
      retry: { attempts: 4, backoff: { type: 'exponential', delayMs: 100 } },
      run(_: undefined, ctx) {
        startedAt.push(clock.now());
        if (ctx.attempt < 4) throw new Error(`fail ${ctx.attempt}`);
        return { attempts: ctx.attempt };
      },
    });
    const { system, clock } = await setup({ jobs: [flaky], workers: 1 });
    const t0 = clock.now();
    const handle = await system.submit(flaky, undefined);
    await clock.advance(10_000);
    expect(await handle.result()).toEqual({ attempts: 4 });
    expect(startedAt.map((t) => t - t0)).toEqual([0, 100, 300, 700]);
  });

  it('spreads retries with jitter within the computed back-off', async () => {
    const startedAt: number[] = [];
    const flaky = defineJob({
      name: 'jittery',
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 1_000, jitter: true } },
      run(_: undefined, ctx) {
        startedAt.push(clock.now());
        if (ctx.attempt === 1) throw new Error('once');
      },
    });
    const { system, clock } = await setup({ jobs: [flaky], workers: 1 });
    const handle = await system.submit(flaky, undefined);
    await clock.advance(1_000);
    await handle.result();
    const wait = startedAt[1]! - startedAt[0]!;
    expect(wait).toBeGreaterThanOrEqual(0);
    expect(wait).toBeLessThanOrEqual(1_000);
  });

  it('fails at once on NonRetryableError, keeping the cause', async () => {
    let runs = 0;
    const job = defineJob({
      name: 'fatal',
      retry: { attempts: 5 },
      run() {
        runs++;
        throw new NonRetryableError('bad image');
      },
    });
    const { system, clock } = await setup({ jobs: [job], workers: 1 });
    const handle = await system.submit(job, undefined);
    await clock.advance(60_000);
    const outcome = await settle(handle.result());
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.error).toBeInstanceOf(JobError);
      expect(outcome.error.code).toBe('JOB_FAILED');
      expect(outcome.error.cause.message).toBe('bad image');
    }
    expect(runs).toBe(1);
    expect(await system.get(handle.id)).toMatchObject({ status: 'failed', attempt: 1 });
  });

  it('fails with JOB_FAILED after the last attempt', async () => {
    const job = defineJob({
      name: 'always',
      retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 10 } },
      run: () => Promise.reject(new Error('no')),
    });
    const { system, clock } = await setup({ jobs: [job], workers: 1 });
    const handle = await system.submit(job, undefined);
    await clock.advance(1_000);
    const outcome = await settle(handle.result());
    expect(outcome.ok ? null : outcome.error.code).toBe('JOB_FAILED');
    expect((await system.get(handle.id))?.attempt).toBe(3);
  });
});

describe('timeouts', () => {
  it('aborts the signal and fails with JOB_TIMEOUT after timeoutMs', async () => {
    let reason: unknown;
    const job = defineJob({
      name: 'slow',
      timeoutMs: 1_000,
      async run(_: undefined, ctx) {
        ctx.signal.addEventListener('abort', () => (reason = ctx.signal.reason));
        await sleep(clock, 60_000);
      },
    });
    const { system, clock } = await setup({ jobs: [job], workers: 1 });
    const handle = await system.submit(job, undefined);
    await clock.advance(999);
    expect((await system.get(handle.id))?.status).toBe('running');
    await clock.advance(1);
    const outcome = await settle(handle.result());
    expect(outcome.ok ? null : outcome.error.code).toBe('JOB_TIMEOUT');
    expect((reason as JobError).code).toBe('JOB_TIMEOUT');
  });

  it('frees the worker of a timed-out job that ignores its signal', async () => {
    const stuck = defineJob({ name: 'stuck', timeoutMs: 100, run: () => new Promise(() => {}) });
    const quick = defineJob({ name: 'quick', run: () => 'done' });
    const { system, clock } = await setup({ jobs: [stuck, quick], workers: 1 });
    await system.submit(stuck, undefined);
    const next = await system.submit(quick, undefined);
    await clock.advance(100);
    expect(await next.result()).toBe('done');
  });

  it('retries a timed-out attempt when attempts remain', async () => {
    const job = defineJob({
      name: 'sometimes-slow',
      timeoutMs: 100,
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 0 } },
      async run(_: undefined, ctx) {
        if (ctx.attempt === 1) await sleep(clock, 1_000, ctx.signal);
        return ctx.attempt;
      },
    });
    const { system, clock } = await setup({ jobs: [job], workers: 1 });
    const handle = await system.submit(job, undefined);
    await clock.advance(200);
    expect(await handle.result()).toBe(2);
  });
});
