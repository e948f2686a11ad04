import { describe, expect, it } from 'vitest';
import { defineJob, threadBatchModule } from '@scalable-api/core';
import { settle, startReal } from './helpers.js';
import type * as batchSquareTask from './fixtures/batch-square.task.js';

// Real threads, so the real clock (startReal): a thread cannot be driven by a simulated one.

const batchSquare = defineJob({
  name: 'batch-square',
  batch: { max: 4, waitMs: 20 },
  isolation: 'thread',
  retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 1 } },
  module: threadBatchModule<typeof batchSquareTask>(new URL('./fixtures/batch-square.task.ts', import.meta.url)),
});

function start() {
  return startReal({ jobs: [batchSquare], workers: 4, threads: { max: 1 } });
}

describe("defineJob({ batch, isolation: 'thread' })", () => {
  it('runs a batch in one thread call and fails only the job whose entry is an Error', async () => {
    const system = await start();
    const handles = await Promise.all([1, -2, 3, 4].map((n) => system.submit(batchSquare, { n })));
    const outcomes = await Promise.all(handles.map((h) => settle(h.result())));
    expect(outcomes[0]).toMatchObject({ ok: true, value: { square: 1, batch: 4, attempt: 1 } });
    expect(outcomes[2]).toMatchObject({ ok: true, value: { square: 9, batch: 4 } });
    expect(outcomes[3]).toMatchObject({ ok: true, value: { square: 16, batch: 4 } });
    // The Error crossed the thread boundary as that job's own failure, retried on its own.
    expect(outcomes[1]).toMatchObject({ ok: false, error: { code: 'JOB_FAILED', message: 'negative: -2' } });
    expect((await system.get(handles[1]!.id))?.attempt).toBe(2);
  });

  it('replaces a thread that crashes mid-batch and retries each job of the batch', async () => {
    const system = await start();
    const handles = await Promise.all([{ n: 1 }, { n: 2, crash: true }, { n: 3 }].map((input) => system.submit(batchSquare, input)));
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results.map((r) => [r.square, r.attempt])).toEqual([
      [1, 2],
      [4, 2],
      [9, 2],
    ]);
    expect((await system.stats()).restarts).toBeGreaterThanOrEqual(1);
  });
});
