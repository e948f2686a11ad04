import { describe, expect, it } from 'vitest';
import { defineJob, NonRetryableError, type BatchContext, type JobError } from '@scalable-api/core';
import { gate, settle, setup, sleep } from './helpers.js';

type Item = { n: number; bad?: boolean };

/** A batch job that records each call's inputs and answers n², or an Error for a bad input. */
function squares(options: { max: number; waitMs: number; retry?: { attempts: number }; timeoutMs?: number; hold?: Promise<void> }) {
  const calls: { inputs: Item[]; ctx: BatchContext }[] = [];
  const job = defineJob({
    name: 'squares',
    batch: { max: options.max, waitMs: options.waitMs },
    retry: { attempts: options.retry?.attempts ?? 1, backoff: { type: 'fixed', delayMs: 100 } },
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    async runBatch(inputs: Item[], ctx) {
      calls.push({ inputs, ctx });
      await options.hold;
      return inputs.map((input) => (input.bad ? new NonRetryableError(`bad input ${input.n}`) : { square: input.n * input.n }));
    },
  });
  return { job, calls, sizes: () => calls.map((call) => call.inputs.length) };
}

describe('defineJob({ batch, runBatch })', () => {
  it('runs up to max queued jobs in one call and settles each with its own entry', async () => {
    const { job, sizes } = squares({ max: 4, waitMs: 50 });
    const { system, clock } = await setup({ jobs: [job], workers: 8 });
    const handles = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => system.submit(job, { n })));
    await clock.advance(0);
    // Four at once (the batch is full), the other two wait for more until waitMs.
    expect(sizes()).toEqual([4]);
    await clock.advance(49);
    expect(sizes()).toEqual([4]);
    await clock.advance(1);
    expect(sizes()).toEqual([4, 2]);
    expect(await Promise.all(handles.map((h) => h.result()))).toEqual([1, 4, 9, 16, 25, 36].map((square) => ({ square })));
  });

  it('runs a lone job after waitMs, and a batch never holds more jobs than the node has workers', async () => {
    const { job, sizes } = squares({ max: 16, waitMs: 20 });
    const { system, clock } = await setup({ jobs: [job], workers: 3 });
    const lone = await system.submit(job, { n: 9 });
    await clock.advance(20);
    expect(await lone.result()).toEqual({ square: 81 });
    await Promise.all([1, 2, 3, 4, 5].map((n) => system.submit(job, { n })));
    await clock.advance(100);
    expect(sizes()).toEqual([1, 3, 2]);
  });

  it('fails only the job whose entry is an Error; the others of the batch complete', async () => {
    const { job, sizes } = squares({ max: 3, waitMs: 10 });
    const { system, clock } = await setup({ jobs: [job], workers: 3 });
    const [a, bad, c] = await Promise.all([{ n: 1 }, { n: 2, bad: true }, { n: 3 }].map((input) => system.submit(job, input)));
    await clock.advance(0);
    expect(sizes()).toEqual([3]);
    expect(await a!.result()).toEqual({ square: 1 });
    expect(await c!.result()).toEqual({ square: 9 });
    const failed = await settle(bad!.result());
    expect(failed.ok).toBe(false);
    expect(failed.ok || failed.error).toMatchObject({ code: 'JOB_FAILED', message: 'bad input 2' });
  });

  it('retries each job of a batch that threw through its own policy, as a new batch', async () => {
    let calls = 0;
    const attempts: number[][] = [];
    const job = defineJob({
      name: 'flaky-batch',
      batch: { max: 4, waitMs: 0 },
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 100 } },
      runBatch(inputs: number[], ctx) {
        attempts.push(ctx.jobs.map((jobCtx) => jobCtx.attempt));
        if (++calls === 1) throw new Error('the model is not ready');
        return inputs.map((n) => n + 1);
      },
    });
    const { system, clock } = await setup({ jobs: [job], workers: 4 });
    const handles = await Promise.all([1, 2, 3].map((n) => system.submit(job, n)));
    await clock.advance(100);
    expect(await Promise.all(handles.map((h) => h.result()))).toEqual([2, 3, 4]);
    expect(attempts).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
  });

  it('fails every job of a batch that answers the wrong number of entries', async () => {
    const job = defineJob({ name: 'short', batch: { max: 2, waitMs: 0 }, retry: { attempts: 1 }, runBatch: (inputs: number[]) => inputs.slice(1) });
    const { system, clock } = await setup({ jobs: [job], workers: 2 });
    const handles = await Promise.all([1, 2].map((n) => system.submit(job, n)));
    await clock.advance(0);
    for (const handle of handles) {
      const outcome = await settle(handle.result());
      expect(outcome.ok || outcome.error).toMatchObject({ code: 'JOB_FAILED', message: expect.stringContaining('1 entries for 2 inputs') });
    }
  });

  it('cancels one job of a running batch: its own signal fires, the batch and the others go on', async () => {
    const hold = gate();
    const { job, calls } = squares({ max: 3, waitMs: 0, hold: hold.promise });
    const { system, clock } = await setup({ jobs: [job], workers: 3 });
    const [a, b, c] = await Promise.all([1, 2, 3].map((n) => system.submit(job, { n })));
    await clock.advance(0);
    expect(calls).toHaveLength(1);
    const { ctx } = calls[0]!;
    expect(await system.cancel(b!.id)).toBe('cancelling');
    await clock.advance(0);
    expect(ctx.jobs[1]!.signal.aborted).toBe(true);
    expect((ctx.jobs[1]!.signal.reason as JobError).code).toBe('JOB_CANCELLED');
    expect(ctx.signal.aborted).toBe(false);
    expect(ctx.jobs[0]!.signal.aborted || ctx.jobs[2]!.signal.aborted).toBe(false);
    hold.open();
    await clock.advance(0);
    expect(await a!.result()).toEqual({ square: 1 });
    expect(await c!.result()).toEqual({ square: 9 });
    expect((await system.get(b!.id))?.status).toBe('cancelled');
  });

  it('takes a job cancelled while its batch forms out of the batch', async () => {
    const { job, sizes } = squares({ max: 8, waitMs: 50 });
    const { system, clock } = await setup({ jobs: [job], workers: 8 });
    const [a, b] = await Promise.all([1, 2].map((n) => system.submit(job, { n })));
    await clock.advance(10);
    await b!.cancel();
    await clock.advance(40);
    expect(sizes()).toEqual([1]);
    expect(await a!.result()).toEqual({ square: 1 });
    expect((await system.get(b!.id))?.status).toBe('cancelled');
  });

  it('times out each job on its own clock; the batch signal fires once all of them are aborted', async () => {
    const hold = gate();
    const { job, calls } = squares({ max: 2, waitMs: 0, timeoutMs: 1_000, hold: hold.promise });
    const { system, clock } = await setup({ jobs: [job], workers: 2 });
    const handles = await Promise.all([1, 2].map((n) => system.submit(job, { n })));
    await clock.advance(1_000);
    expect(calls[0]!.ctx.signal.aborted).toBe(true);
    for (const handle of handles) expect(await settle(handle.result())).toMatchObject({ ok: false, error: { code: 'JOB_TIMEOUT' } });
    hold.open();
  });

  it('renews the lease of every job in a batch that runs longer than the lease', async () => {
    const job = defineJob({
      name: 'slow-batch',
      batch: { max: 4, waitMs: 0 },
      async runBatch(inputs: number[], ctx) {
        await sleep(clock, 10_000, ctx.signal);
        return inputs.map((n, i) => ({ n, attempt: ctx.jobs[i]!.attempt }));
      },
    });
    const { system, clock } = await setup({ jobs: [job], workers: 4, leaseMs: 1_000 });
    const handles = await Promise.all([1, 2, 3, 4].map((n) => system.submit(job, n)));
    await clock.advance(10_000);
    expect(await Promise.all(handles.map((h) => h.result()))).toEqual([1, 2, 3, 4].map((n) => ({ n, attempt: 1 })));
  });

  it('batches the children of a parent, which gets each child its own result', async () => {
    const { job, sizes } = squares({ max: 8, waitMs: 5 });
    const parent = defineJob({
      name: 'sum-of-squares',
      async run(input: { upTo: number }, ctx) {
        const children = Array.from({ length: input.upTo }, (_, i) => ctx.spawn(job, { n: i + 1 }, { key: `n${i + 1}` }));
        const results = await Promise.all(children);
        return results.reduce((sum, { square }) => sum + square, 0);
      },
    });
    const { system, clock } = await setup({ jobs: [job, parent], workers: 8 });
    const handle = await system.submit(parent, { upTo: 5 });
    await clock.advance(100);
    expect(await handle.result()).toBe(55);
    expect(sizes()).toEqual([5]);
  });

  it('refuses a batch job without runBatch or module, a bad max or waitMs, and runBatch without batch', () => {
    const runBatch = (inputs: number[]) => inputs;
    expect(() => defineJob({ name: 'b', batch: { max: 0, waitMs: 1 }, runBatch })).toThrow(/batch.max/);
    expect(() => defineJob({ name: 'b', batch: { max: 4, waitMs: -1 }, runBatch })).toThrow(/batch.waitMs/);
    // @ts-expect-error -- runBatch belongs with batch
    expect(() => defineJob({ name: 'b', runBatch })).toThrow(/runBatch needs batch/);
    // @ts-expect-error -- a batch job runs through runBatch, not run
    expect(() => defineJob({ name: 'b', batch: { max: 4, waitMs: 1 }, run: () => 1 })).toThrow(/a batch job gives runBatch/);
  });
});
