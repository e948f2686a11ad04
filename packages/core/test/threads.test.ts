import { describe, expect, it } from 'vitest';
import { defineJob, threadModule, type JobSystem } from '@scalable-api/core';
import { settle, startReal } from './helpers.js';
import type * as squareTask from './fixtures/square.task.js';
import type * as failTask from './fixtures/fail.task.js';
import type * as spinTask from './fixtures/spin.task.js';
import type * as crashTask from './fixtures/crash.task.js';

// Real threads, so the real clock (startReal): a thread cannot be driven by a simulated one.

const square = defineJob({
  name: 'square',
  isolation: 'thread',
  module: threadModule<typeof squareTask>(new URL('./fixtures/square.task.ts', import.meta.url)),
});
const fail = defineJob({
  name: 'fail',
  isolation: 'thread',
  retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 1 } },
  module: threadModule<typeof failTask>(new URL('./fixtures/fail.task.ts', import.meta.url)),
});
const spinModule = threadModule<typeof spinTask>(new URL('./fixtures/spin.task.ts', import.meta.url));
const spin = defineJob({ name: 'spin', isolation: 'thread', module: spinModule });
// Long enough for a thread to load (tsx included) on a busy machine and be spinning when the
// timeout fires: then only terminating it can end the attempt.
const spinTimeout = defineJob({ name: 'spin-timeout', isolation: 'thread', timeoutMs: 3_000, retry: { attempts: 1 }, module: spinModule });
const crash = defineJob({
  name: 'crash',
  isolation: 'thread',
  retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 1 } },
  module: threadModule<typeof crashTask>(new URL('./fixtures/crash.task.ts', import.meta.url)),
});

/** Resolves once `predicate` holds for an event of the job, bounded by the test timeout. */
async function until(system: JobSystem, id: string, predicate: (event: { type: string; progress?: unknown }) => boolean): Promise<void> {
  for await (const event of system.events({ jobId: id })) if (predicate(event as { type: string; progress?: unknown })) return;
}

describe("defineJob({ isolation: 'thread' })", () => {
  it('runs the module in a worker thread and returns its typed result with progress', async () => {
    const system = await startReal({ jobs: [square], workers: 2, threads: { max: 1 } });
    const events = system.events();
    const handle = await system.submit(square, { n: 7 });
    const result = await handle.result();
    expect(result).toMatchObject({ square: 49, attempt: 1, inThread: true });
    const seen: unknown[] = [];
    for await (const event of events) {
      if (event.type === 'job.progress') seen.push(event.progress);
      if (event.type === 'job.completed') break;
    }
    expect(seen).toEqual([0.5]);
  });

  it('keeps to threads.max: concurrent jobs share the one thread', async () => {
    const system = await startReal({ jobs: [square], workers: 4, threads: { max: 1 } });
    const handles = await Promise.all([1, 2, 3, 4].map((n) => system.submit(square, { n })));
    const results = await Promise.all(handles.map((h) => h.result()));
    expect(results.map((r) => r.square)).toEqual([1, 4, 9, 16]);
    expect(new Set(results.map((r) => r.threadId)).size).toBe(1);
  });

  it('retries a thread job that throws, then completes', async () => {
    const system = await startReal({ jobs: [fail], workers: 1, threads: { max: 1 } });
    const handle = await system.submit(fail, { failTimes: 2 });
    expect(await handle.result()).toEqual({ attempts: 3 });
  });

  it('fails with JOB_FAILED and the thrown message after the last attempt, and NonRetryableError skips retries', async () => {
    const system = await startReal({ jobs: [fail], workers: 1, threads: { max: 1 } });
    const exhausted = await settle((await system.submit(fail, { failTimes: 5 })).result());
    expect(exhausted).toMatchObject({ ok: false, error: { code: 'JOB_FAILED', message: 'planned failure on attempt 3' } });
    const handle = await system.submit(fail, { failTimes: 0, final: true });
    expect(await settle(handle.result())).toMatchObject({ ok: false, error: { code: 'JOB_FAILED' } });
    expect((await system.get(handle.id))?.attempt).toBe(1);
    const subclass = await system.submit(fail, { failTimes: 0, final: 'subclass' });
    expect(await settle(subclass.result())).toMatchObject({ ok: false, error: { code: 'JOB_FAILED', cause: { name: 'Refused' } } });
    expect((await system.get(subclass.id))?.attempt).toBe(1);
  });

  it('cancels a thread that never yields: the job is cancelled and the thread terminated and replaced', async () => {
    const system = await startReal({ jobs: [spin, square], workers: 2, threads: { max: 1, graceMs: 50 } });
    const handle = await system.submit(spin, {});
    await until(system, handle.id, (e) => e.type === 'job.progress');
    await handle.cancel();
    expect(await settle(handle.result())).toMatchObject({ ok: false, error: { code: 'JOB_CANCELLED' } });
    // The only thread was spinning; the next job can only run once it has been replaced.
    expect(await (await system.submit(square, { n: 3 })).result()).toMatchObject({ square: 9 });
    expect((await system.stats()).restarts).toBe(1);
  });

  it('times out a thread that never yields with JOB_TIMEOUT and replaces the thread', async () => {
    const system = await startReal({ jobs: [spinTimeout, square], workers: 2, threads: { max: 1, graceMs: 50 } });
    const handle = await system.submit(spinTimeout, {});
    expect(await settle(handle.result())).toMatchObject({ ok: false, error: { code: 'JOB_TIMEOUT' } });
    expect(await (await system.submit(square, { n: 4 })).result()).toMatchObject({ square: 16 });
    expect((await system.stats()).restarts).toBe(1);
  });

  it.each(['throw', 'exit'] as const)('replaces a thread that crashes (%s) and the retry runs on a fresh thread', async (how) => {
    const system = await startReal({ jobs: [crash], workers: 1, threads: { max: 1 } });
    const first = await system.submit(crash, { crashTimes: 1, how });
    const result = await first.result();
    expect(result.attempt).toBe(2);
    const stats = await system.stats();
    expect(stats.restarts).toBe(1);
    // Counted apart from the restart intensity: the node stays healthy.
    expect(stats.health).toBe('healthy');
  });

  it('fails with THREAD_CRASHED when every attempt crashes its thread', async () => {
    const system = await startReal({ jobs: [crash], workers: 1, threads: { max: 1 } });
    const handle = await system.submit(crash, { crashTimes: 5, how: 'exit' });
    expect(await settle(handle.result())).toMatchObject({ ok: false, error: { code: 'THREAD_CRASHED' } });
    expect((await system.stats()).restarts).toBe(2);
  });

  it('refuses a definition with a module but no thread isolation, or thread isolation without a module', () => {
    expect(() => defineJob({ name: 'x', isolation: 'thread' } as never)).toThrow(TypeError);
    expect(() => defineJob({ name: 'x', isolation: 'thread', module: threadModule(new URL('file:///x.js')), run: () => 1 } as never)).toThrow(
      TypeError,
    );
    expect(() => threadModule('./relative.js')).toThrow(TypeError);
  });
});
