import { describe, expect, it } from 'vitest';
import { defineJob, threadModule } from '@scalable-api/core';
import { settle, startReal } from './helpers.js';
import type * as meetTask from './fixtures/meet.task.js';
import type * as crashTask from './fixtures/crash.task.js';
import type * as spinTask from './fixtures/spin.task.js';
import type * as squareTask from './fixtures/square.task.js';

// Real threads, so the real clock (startReal): a thread cannot be driven by a simulated one.

const meet = defineJob({
  name: 'meet',
  isolation: 'thread',
  module: threadModule<typeof meetTask>(new URL('./fixtures/meet.task.ts', import.meta.url)),
});
const crash = defineJob({
  name: 'crash',
  isolation: 'thread',
  retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 1 } },
  module: threadModule<typeof crashTask>(new URL('./fixtures/crash.task.ts', import.meta.url)),
});
const spin = defineJob({
  name: 'spin',
  isolation: 'thread',
  module: threadModule<typeof spinTask>(new URL('./fixtures/spin.task.ts', import.meta.url)),
});
const square = defineJob({
  name: 'square',
  isolation: 'thread',
  retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 1 } },
  module: threadModule<typeof squareTask>(new URL('./fixtures/square.task.ts', import.meta.url)),
});

describe('threads: { tasksPerThread }', () => {
  it('hands a busy thread its next task while the current one runs', async () => {
    const system = await startReal({ jobs: [meet], workers: 2, threads: { max: 1, tasksPerThread: 2 } });
    const handles = await Promise.all([1, 2].map(() => system.submit(meet, { parties: 2 })));
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results[0]!.threadId).toBe(results[1]!.threadId);
  });

  it('fails every task a crashed thread held with THREAD_CRASHED, and each retries on a fresh thread', async () => {
    const system = await startReal({ jobs: [crash], workers: 2, threads: { max: 1, tasksPerThread: 2 } });
    const handles = await Promise.all([1, 2].map(() => system.submit(crash, { crashTimes: 1, how: 'exit' })));
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results.map((r) => r.attempt)).toEqual([2, 2]);
    expect((await system.stats()).health).toBe('healthy');
  });

  it('terminates a thread whose task ignores an abort, and the task it held beside it retries on a fresh thread', async () => {
    const system = await startReal({ jobs: [spin, square], workers: 2, threads: { max: 1, graceMs: 50, tasksPerThread: 2 } });
    const spinning = await system.submit(spin, {});
    // Spinning before the second task arrives: the thread never reads it.
    for await (const event of system.events({ jobId: spinning.id })) if (event.type === 'job.progress') break;
    const held = await system.submit(square, { n: 5 });
    await spinning.cancel();
    expect(await settle(spinning.result())).toMatchObject({ ok: false, error: { code: 'JOB_CANCELLED' } });
    expect(await held.result()).toMatchObject({ square: 25, attempt: 2 });
    expect((await system.stats()).restarts).toBe(1);
  });

  it('refuses a tasksPerThread that is not a positive integer', async () => {
    const system = await startReal({ jobs: [square], workers: 1, threads: { tasksPerThread: 0 } });
    expect(await settle((await system.submit(square, { n: 1 })).result())).toMatchObject({ ok: false });
  });
});
