import { describe, expect, it } from 'vitest';
import { defineJob, threadBatchModule, threadModule, type AnyJobDefinition } from '@scalable-api/core';
import { startReal } from './helpers.js';
import type * as limitedOnceTask from './fixtures/limited-once.task.js';
import type * as batchLimitedOnceTask from './fixtures/batch-limited-once.task.js';

// Real threads, so the real clock: a thread cannot be driven by a simulated one. The times
// checked are lower bounds the store guarantees (nothing of the type starts before the
// push-back ends), never upper bounds on how fast anything ran.
function start(job: AnyJobDefinition) {
  return startReal({ jobs: [job], workers: 4, threads: { max: 1 } });
}

const limitedOnce = defineJob({
  name: 'limited-once',
  isolation: 'thread',
  module: threadModule<typeof limitedOnceTask>(new URL('./fixtures/limited-once.task.ts', import.meta.url)),
});

const batchLimitedOnce = defineJob({
  name: 'batch-limited-once',
  batch: { max: 3, waitMs: 20 },
  isolation: 'thread',
  module: threadBatchModule<typeof batchLimitedOnceTask>(new URL('./fixtures/batch-limited-once.task.ts', import.meta.url)),
});

describe('ctx.rateLimited(ms) in a thread', () => {
  it('hands the job back without counting the attempt and holds back its type until the push-back ends', async () => {
    const system = await start(limitedOnce);
    const before = Date.now();
    const handle = await system.submit(limitedOnce, { retryAfterMs: 300 });
    const result = await handle.result();
    expect(result.attempt).toBe(1);
    expect(result.at).toBeGreaterThanOrEqual(before + 300);
    const types = (await system.store.events(handle.id, 0)).map((e) => e.type);
    expect(types).toEqual(['job.queued', 'job.started', 'job.released', 'job.started', 'job.completed']);
  });
});

describe("ctx.rateLimited(ms) in a batch thread task (defineJob({ batch, isolation: 'thread' }))", () => {
  it('hands back every job of the batch, attempts not counted, and none runs again before the push-back ends', async () => {
    const system = await start(batchLimitedOnce);
    const before = Date.now();
    const handles = await Promise.all([1, 2, 3].map((n) => system.submit(batchLimitedOnce, { n, retryAfterMs: 300 })));
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results.map((r) => [r.double, r.attempt])).toEqual([
      [2, 1],
      [4, 1],
      [6, 1],
    ]);
    let released = 0;
    for (const [i, handle] of handles.entries()) {
      const types = (await system.store.events(handle.id, 0)).map((e) => e.type);
      if (!types.includes('job.released')) continue;
      released++;
      expect(results[i]!.at).toBeGreaterThanOrEqual(before + 300);
    }
    // The first call held at least one of them (all three, when they were claimed together).
    expect(released).toBeGreaterThanOrEqual(1);
  });
});
