import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineJob } from '@scalable-api/core';
import { gate, lossyStore, settle, setup } from './helpers.js';

describe('system.waitResult / handle.result({ signal })', () => {
  it('refuses a wait past results.maxWaiters with RESULT_WAITERS_FULL, and the job runs on', async () => {
    const release = gate();
    const long = defineJob({ name: 'long', run: () => release.promise.then(() => 'late') });
    const { system } = await setup({ jobs: [long], workers: 1, results: { maxWaiters: 100 } });
    const handle = await system.submit(long, undefined);
    const waits = Array.from({ length: 100 }, () => handle.result());
    const refused = await settle(handle.result());
    expect(refused.ok ? null : refused.error.code).toBe('RESULT_WAITERS_FULL');
    release.open();
    expect(await Promise.all(waits)).toEqual(Array.from({ length: 100 }, () => 'late'));
  });

  it('frees the waiter of a caller that gives up: 2,000 aborted waits on one long job leave room for 2,000 more', async () => {
    const release = gate();
    const long = defineJob({ name: 'long', run: () => release.promise.then(() => 'late') });
    const { system } = await setup({ jobs: [long], workers: 1, results: { maxWaiters: 2_000 } });
    const handle = await system.submit(long, undefined);
    const callers = Array.from({ length: 2_000 }, () => new AbortController());
    const gaveUp = callers.map((c) => settle(system.waitResult(handle.id, { signal: c.signal })));
    for (const caller of callers) caller.abort(new Error('the client went away'));
    const outcomes = await Promise.all(gaveUp);
    expect(outcomes.every((o) => !o.ok && o.error.message === 'the client went away')).toBe(true);
    // Had the 2,000 closures stayed, every one of these would be refused.
    const waits = Array.from({ length: 2_000 }, () => handle.result());
    release.open();
    expect(new Set(await Promise.all(waits))).toEqual(new Set(['late']));
  });

  it('rejects at once for a signal that is already aborted', async () => {
    const long = defineJob({ name: 'long', run: () => new Promise(() => {}) });
    const { system } = await setup({ jobs: [long], workers: 1 });
    const handle = await system.submit(long, undefined);
    const outcome = await settle(handle.result({ signal: AbortSignal.abort(new Error('no time')) }));
    expect(outcome.ok ? null : outcome.error.message).toBe('no time');
  });
});

describe('result waiters when the node stops', () => {
  it('resolves a waiter whose job completed during the drain even though the completion signal never came', async () => {
    const store = lossyStore(createMemoryStore(), (signal) => signal.type === 'job.event' && signal.event.type === 'job.completed');
    const release = gate();
    const slow = defineJob({ name: 'slow', run: () => release.promise.then(() => 'finished') });
    const { system } = await setup({ jobs: [slow], workers: 1, store, reconcileMs: 60_000 });
    const handle = await system.submit(slow, undefined);
    const result = settle(handle.result());
    const stopped = system.stop({ drain: true });
    release.open();
    await stopped;
    expect(await result).toEqual({ ok: true, value: 'finished' });
  });

  it('rejects the waiters it can no longer answer with SHUTTING_DOWN instead of leaving them pending', async () => {
    const never = defineJob({ name: 'never', run: () => new Promise(() => {}) });
    const { system } = await setup({ jobs: [never], workers: 1 });
    const handle = await system.submit(never, undefined);
    const result = settle(handle.result());
    await system.stop({ drain: false });
    const outcome = await result;
    expect(outcome.ok ? null : outcome.error.code).toBe('SHUTTING_DOWN');
  });
});
