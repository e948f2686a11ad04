import { describe, expect, it } from 'vitest';
import { defineJob, RateLimitedError } from '@scalable-api/core';
import { setup } from './helpers.js';

describe('defineJob({ rateLimit })', () => {
  it('starts at most max jobs per window; the rest wait queued and start as the limit allows', async () => {
    const startedAt: number[] = [];
    const call = defineJob({
      name: 'call-api',
      rateLimit: { max: 2, perMs: 1_000 },
      run(_: undefined) {
        startedAt.push(clock.now());
      },
    });
    const { system, clock } = await setup({ jobs: [call], workers: 8, pollMs: 60_000 });
    const t0 = clock.now();
    const handles = await Promise.all(Array.from({ length: 6 }, () => system.submit(call, undefined)));
    for (let t = 0; t < 3_000; t += 10) await clock.advance(10);
    await Promise.all(handles.map((h) => h.result()));
    // A bucket of 2 refilled every 500 ms; woken by the claim's nextRunAt, not by the poll.
    expect(startedAt.map((t) => t - t0)).toEqual([0, 0, 500, 1_000, 1_500, 2_000]);
    expect((await system.get(handles[5]!.id))?.attempt).toBe(1);
  });

  it('holds the limit per key when it has a key', async () => {
    const started: string[] = [];
    const call = defineJob({
      name: 'call-account',
      rateLimit: { max: 1, perMs: 1_000, key: (input: { account: string }) => input.account },
      run(input) {
        started.push(input.account);
      },
    });
    const { system, clock } = await setup({ jobs: [call], workers: 8, pollMs: 60_000 });
    await Promise.all(['a', 'a', 'b', 'b'].map((account) => system.submit(call, { account })));
    await clock.advance(10);
    expect(started.sort()).toEqual(['a', 'b']);
    await clock.advance(1_000);
    expect(started.sort()).toEqual(['a', 'a', 'b', 'b']);
  });

  it('refuses a key function that fails with INPUT_INVALID', async () => {
    const call = defineJob({
      name: 'call-bad-key',
      rateLimit: { max: 1, perMs: 1_000, key: (): string => Symbol('x') as never },
      run() {},
    });
    const { system } = await setup({ jobs: [call], workers: 1 });
    await expect(system.submit(call, undefined)).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });

  it('checks its options', () => {
    expect(() => defineJob({ name: 'x', rateLimit: { max: 0, perMs: 1_000 }, run() {} })).toThrow(/rateLimit.max/);
    expect(() => defineJob({ name: 'x', fairShare: { concurrencyPerKey: 1.5 }, run() {} })).toThrow(/concurrencyPerKey/);
    expect(() => defineJob({ name: 'x', fairShare: { weights: { a: 0 } }, run() {} })).toThrow(/weights.a/);
  });
});

describe('ctx.rateLimited(ms)', () => {
  it('requeues the job without counting the attempt and holds back its type on the node', async () => {
    const startedAt: number[] = [];
    let limited = false;
    const call = defineJob({
      name: 'upstream',
      run(input: { n: number }, ctx) {
        startedAt.push(clock.now() - t0);
        if (input.n === 0 && !limited) {
          limited = true;
          ctx.rateLimited(2_000);
        }
        return ctx.attempt;
      },
    });
    const { system, clock } = await setup({ jobs: [call], workers: 1, pollMs: 60_000 });
    const t0 = clock.now();
    const first = await system.submit(call, { n: 0 });
    await clock.advance(10);
    const second = await system.submit(call, { n: 1 });
    for (let t = 0; t < 3_000; t += 10) await clock.advance(10);
    expect(await first.result()).toBe(1);
    expect(await second.result()).toBe(1);
    expect(startedAt).toEqual([0, 2_000, 2_000]);
  });

  it('in runBatch, hands back every job of the batch and holds back the type (ctx.rateLimited of the batch)', async () => {
    const calls: { at: number; inputs: number[] }[] = [];
    let limited = false;
    const job = defineJob({
      name: 'batch-upstream',
      batch: { max: 3, waitMs: 10 },
      runBatch(inputs: { n: number }[], ctx) {
        calls.push({ at: clock.now() - t0, inputs: inputs.map((input) => input.n) });
        if (!limited) {
          limited = true;
          ctx.rateLimited(2_000);
        }
        return inputs.map((input, i) => ({ n: input.n, attempt: ctx.jobs[i]!.attempt }));
      },
    });
    const { system, clock } = await setup({ jobs: [job], workers: 4, pollMs: 60_000 });
    const t0 = clock.now();
    const handles = await Promise.all([1, 2, 3].map((n) => system.submit(job, { n })));
    for (let t = 0; t < 3_000; t += 10) await clock.advance(10);
    expect(await Promise.all(handles.map((h) => h.result()))).toEqual([1, 2, 3].map((n) => ({ n, attempt: 1 })));
    expect(calls).toEqual([
      { at: 0, inputs: [1, 2, 3] },
      { at: 2_000, inputs: [1, 2, 3] },
    ]);
  });

  it("in runBatch, a RateLimitedError entry hands back that job alone; the batch's others complete", async () => {
    const calls: { at: number; inputs: number[] }[] = [];
    const job = defineJob({
      name: 'batch-entry-upstream',
      batch: { max: 2, waitMs: 10 },
      runBatch(inputs: { n: number }[]) {
        calls.push({ at: clock.now() - t0, inputs: inputs.map((input) => input.n) });
        return inputs.map((input) => (input.n === 2 && calls.length === 1 ? new RateLimitedError(1_000) : input.n));
      },
    });
    const { system, clock } = await setup({ jobs: [job], workers: 4, pollMs: 60_000 });
    const t0 = clock.now();
    const [one, two] = await Promise.all([1, 2].map((n) => system.submit(job, { n })));
    for (let t = 0; t < 2_000; t += 10) await clock.advance(10);
    expect(await one!.result()).toBe(1);
    expect(await two!.result()).toBe(2);
    expect((await system.get(two!.id))?.attempt).toBe(1);
    // A lone job waits waitMs for company once its type's push-back is over.
    expect(calls).toEqual([
      { at: 0, inputs: [1, 2] },
      { at: 1_010, inputs: [2] },
    ]);
  });

  it('is a RateLimitedError a handler may throw itself', () => {
    const error = new RateLimitedError(1_500);
    expect(error.retryAfterMs).toBe(1_500);
    expect(new RateLimitedError(-1).retryAfterMs).toBe(0);
  });
});

describe('defineJob({ fairShare })', () => {
  it("runs a tenant's few jobs between another tenant's backlog, not after it", async () => {
    const order: string[] = [];
    const work = defineJob({
      name: 'tenant-work',
      run(input: { tenant: string }) {
        order.push(input.tenant);
      },
    });
    const { system, clock } = await setup({ jobs: [work], workers: 1 });
    await Promise.all(Array.from({ length: 200 }, () => system.submit(work, { tenant: 'a' }, { meta: { tenant: 'a' } })));
    await Promise.all(Array.from({ length: 5 }, () => system.submit(work, { tenant: 'b' }, { meta: { tenant: 'b' } })));
    for (let i = 0; i < 50 && order.length < 205; i++) await clock.advance(10);
    expect(order).toHaveLength(205);
    // From the moment tenant b's 5 jobs are queued they take turns with a's backlog (a, b, a, b…).
    const firstB = order.indexOf('b');
    expect(order.slice(firstB, firstB + 10).join('')).toBe('bababababa');
  });

  it('runs at most concurrencyPerKey jobs of one key at once', async () => {
    let running = 0;
    let most = 0;
    const work = defineJob({
      name: 'per-key',
      fairShare: { key: (input: { account: string }) => input.account, concurrencyPerKey: 2 },
      async run() {
        most = Math.max(most, ++running);
        await new Promise<void>((resolve) => clock.setTimeout(() => resolve(), 100));
        running--;
      },
    });
    const { system, clock } = await setup({ jobs: [work], workers: 8 });
    const handles = await Promise.all(Array.from({ length: 6 }, () => system.submit(work, { account: 'a' })));
    for (let i = 0; i < 100; i++) await clock.advance(10);
    await Promise.all(handles.map((h) => h.result()));
    expect(most).toBe(2);
  });
});

describe('system.flow()', () => {
  it('shows per job type its rate limit, a push-back holding it, its pause, and its flow keys with the most queued', async () => {
    const call = defineJob({
      name: 'call-api',
      rateLimit: { max: 2, perMs: 1_000 },
      run(_: undefined, ctx) {
        ctx.rateLimited(5_000);
      },
    });
    const render = defineJob({ name: 'render', fairShare: { concurrencyPerKey: 3 }, run(_: undefined) {} });
    const { system, clock } = await setup({ jobs: [call, render], workers: 1, pollMs: 60_000 });
    await system.pause('render');
    for (const tenant of ['a', 'b', 'a']) await system.submit(render, undefined, { tenant });
    const t0 = clock.now();
    await system.submit(call, undefined);
    await clock.advance(10);
    expect(await system.flow()).toEqual([
      {
        name: 'call-api',
        paused: false,
        rateLimit: { max: 2, perMs: 1_000, perKey: false },
        fairShare: { keyedBy: 'tenant' },
        queued: 1,
        keys: 0,
        partial: false,
        top: [],
        tokens: 1,
        heldUntil: t0 + 5_000,
        pushBackUntil: t0 + 5_000,
      },
      {
        name: 'render',
        paused: true,
        fairShare: { keyedBy: 'tenant', concurrencyPerKey: 3 },
        queued: 3,
        keys: 2,
        partial: false,
        top: [
          { key: 'a', queued: 2, running: 0 },
          { key: 'b', queued: 1, running: 0 },
        ],
      },
    ]);
    await expect(system.flow({ names: ['nope'] })).rejects.toMatchObject({ code: 'JOB_TYPE_UNKNOWN' });
    expect((await system.flow({ names: ['render'], topKeys: 1 }))[0]!.top).toEqual([{ key: 'a', queued: 2, running: 0 }]);
  });
});
