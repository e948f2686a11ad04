import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineJob, type SubmitManyResult } from '@scalable-api/core';
import { z } from 'zod';
import { setup } from './helpers.js';

const square = defineJob({ name: 'square', input: z.object({ n: z.number().int() }), run: ({ n }) => n * n });

describe('system.submitMany', () => {
  it('enqueues every item in one store call and answers a typed handle per item, in order', async () => {
    const { system } = await setup({ jobs: [square], workers: 2 });
    let calls = 0;
    const enqueue = system.store.enqueue.bind(system.store);
    system.store.enqueue = (jobs, options) => (calls++, enqueue(jobs, options));
    const results = await system.submitMany(square, [{ input: { n: 2 } }, { input: { n: 3 }, priority: 5 }]);
    expectTypeOf(results).toEqualTypeOf<SubmitManyResult<number>[]>();
    expect(calls).toBe(1);
    const outputs = await Promise.all(results.map((r) => (r.ok ? r.handle.result() : Promise.reject(r.error))));
    expect(outputs).toEqual([4, 9]);
    expect((await system.stats()).submitted).toBe(2);
  });

  it('answers each invalid item on its own and enqueues the rest', async () => {
    const { system } = await setup({ jobs: [square], workers: 0 });
    const results = await system.submitManyByName('square', [{ input: { n: 1 } }, { input: { n: 'x' } }]);
    expect(results[0]!.ok).toBe(true);
    expect(results[1]!.ok ? null : results[1]!.error.code).toBe('INPUT_INVALID');
    expect((await system.stats()).queued).toBe(1);
  });

  it('atomic: enqueues nothing when an item is invalid, a key is reused with other input, or the bound is passed', async () => {
    const { system } = await setup({ jobs: [square], workers: 0, queue: { limit: 3 } });
    const codes = (results: SubmitManyResult[]) => results.map((r) => (r.ok ? 'ok' : r.error.code));
    expect(codes(await system.submitMany(square, [{ input: { n: 1 } }, { input: { n: 1.5 } }], { atomic: true }))).toEqual([
      'BATCH_ABORTED',
      'INPUT_INVALID',
    ]);
    const reused = [
      { input: { n: 1 }, idempotencyKey: 'k' },
      { input: { n: 2 }, idempotencyKey: 'k' },
    ];
    expect(codes(await system.submitMany(square, reused, { atomic: true }))).toEqual(['BATCH_ABORTED', 'IDEMPOTENCY_CONFLICT']);
    const four = [1, 2, 3, 4].map((n) => ({ input: { n } }));
    expect(codes(await system.submitMany(square, four, { atomic: true }))).toEqual(['QUEUE_FULL', 'QUEUE_FULL', 'QUEUE_FULL', 'QUEUE_FULL']);
    expect((await system.stats()).queued).toBe(0);
    expect(codes(await system.submitMany(square, four.slice(0, 3), { atomic: true }))).toEqual(['ok', 'ok', 'ok']);
  });

  it('returns the first job for a key used twice with the same input', async () => {
    const { system } = await setup({ jobs: [square], workers: 0 });
    const [a, b] = await system.submitMany(square, [
      { input: { n: 1 }, idempotencyKey: 'k' },
      { input: { n: 1 }, idempotencyKey: 'k' },
    ]);
    expect(a!.ok && b!.ok && a!.handle.id === b!.handle.id && b!.handle.created === false).toBe(true);
  });

  it('rejects the whole call past queue.maxBatch with BATCH_TOO_LARGE, and an unknown job with JOB_TYPE_UNKNOWN', async () => {
    const { system } = await setup({ jobs: [square], workers: 0, queue: { maxBatch: 2 } });
    await expect(
      system.submitMany(
        square,
        [1, 2, 3].map((n) => ({ input: { n } })),
      ),
    ).rejects.toMatchObject({ code: 'BATCH_TOO_LARGE' });
    await expect(system.submitManyByName('nope', [{ input: {} }])).rejects.toMatchObject({ code: 'JOB_TYPE_UNKNOWN' });
    expect((await system.stats()).queued).toBe(0);
  });
});
