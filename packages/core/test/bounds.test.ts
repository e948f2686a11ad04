import { describe, expect, it } from 'vitest';
import { defineJob, InputError, OverloadError } from '@scalable-api/core';
import { z } from 'zod';
import { gate, settle, setup } from './helpers.js';

describe('queue bound', () => {
  it('accepts exactly queue.limit waiting jobs and rejects the next with QUEUE_FULL at once', async () => {
    const hold = gate();
    const job = defineJob({ name: 'held', run: () => hold.promise });
    const { system } = await setup({ jobs: [job], workers: 1, queue: { limit: 5 } });
    const first = await system.submit(job, undefined);
    await new Promise((r) => setImmediate(r));
    expect((await system.get(first.id))?.status).toBe('running');
    for (let i = 0; i < 5; i++) await system.submit(job, undefined);
    const over = await settle(system.submit(job, undefined));
    expect(over.ok).toBe(false);
    if (!over.ok) {
      expect(over.error).toBeInstanceOf(OverloadError);
      expect(over.error.code).toBe('QUEUE_FULL');
    }
    expect((await system.stats()).rejected).toBe(1);
    hold.open();
  });

  it('counts delayed jobs against the bound', async () => {
    const job = defineJob({ name: 'later', run: () => 1 });
    const { system } = await setup({ jobs: [job], workers: 1, queue: { limit: 2 } });
    await system.submit(job, undefined, { delayMs: 10_000 });
    await system.submit(job, undefined, { delayMs: 10_000 });
    expect((await settle(system.submit(job, undefined, { delayMs: 10_000 }))).ok).toBe(false);
  });
});

describe('input validation', () => {
  it('rejects input failing the schema with INPUT_INVALID before it reaches a worker', async () => {
    let runs = 0;
    const job = defineJob({
      name: 'typed',
      input: z.object({ width: z.number().int().positive() }),
      run: (input) => {
        runs++;
        return input.width;
      },
    });
    const { system } = await setup({ jobs: [job], workers: 1 });
    const bad = await settle(system.submitByName('typed', { width: -1 }));
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error).toBeInstanceOf(InputError);
      expect(bad.error.code).toBe('INPUT_INVALID');
      expect(bad.error.details.issues[0].path).toEqual(['width']);
    }
    const good = await system.submitByName('typed', { width: 3 });
    expect(await good.result()).toBe(3);
    expect(runs).toBe(1);
  });

  it('names every issue with its path, in the message and in details', async () => {
    const job = defineJob({
      name: 'order',
      input: z.object({ customer: z.object({ email: z.email() }), items: z.array(z.object({ qty: z.number().int().positive() })) }),
      run: () => 1,
    });
    const { system } = await setup({ jobs: [job], workers: 1 });
    const bad = await settle(system.submit(job, { customer: { email: 'nope' }, items: [{ qty: 1 }, { qty: 0 }, { qty: 'x' as unknown as number }] }));
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.error.details.issues.map((i: { path: unknown[] }) => i.path)).toEqual([
      ['customer', 'email'],
      ['items', 1, 'qty'],
      ['items', 2, 'qty'],
    ]);
    expect(bad.error.details.issueCount).toBe(3);
    expect(bad.error.message).toMatch(/customer\.email: .*; items\[1\]\.qty: .*; items\[2\]\.qty: /);
  });

  it('rejects an unknown job with JOB_TYPE_UNKNOWN', async () => {
    const job = defineJob({ name: 'known', run: () => 1 });
    const stranger = defineJob({ name: 'stranger', run: () => 1 });
    const { system } = await setup({ jobs: [job], workers: 1 });
    const byName = await settle(system.submitByName('nope', {}));
    expect(byName.ok ? null : byName.error.code).toBe('JOB_TYPE_UNKNOWN');
    const byDefinition = await settle(system.submit(stranger as never, undefined as never));
    expect(byDefinition.ok ? null : byDefinition.error.code).toBe('JOB_TYPE_UNKNOWN');
  });

  it('refuses by rejecting, never by throwing, whatever the caller passes', async () => {
    const job = defineJob({ name: 'known', run: (x: unknown) => x });
    const { system } = await setup({ jobs: [job], workers: 1 });
    // Each of these once threw out of submit() itself, past a caller's .catch().
    const calls = [
      () => system.submit(job, { big: 1n }, { idempotencyKey: 'k' }),
      () => system.submitByName('known', {}, null as never),
      () => system.submit(undefined as never, {} as never),
    ];
    for (const call of calls) {
      let promise: Promise<unknown> | undefined;
      expect(() => (promise = call())).not.toThrow();
      await expect(promise).rejects.toBeInstanceOf(Error);
    }
    expect((await system.stats()).rejected).toBeGreaterThanOrEqual(3);
  });
});

describe('idempotency', () => {
  it('returns the existing job for the same key and input, and conflicts on other input', async () => {
    const job = defineJob({ name: 'once', run: (input: { n: number }) => input.n });
    const { system } = await setup({ jobs: [job], workers: 1 });
    const a = await system.submit(job, { n: 1 }, { idempotencyKey: 'k1' });
    const b = await system.submit(job, { n: 1 }, { idempotencyKey: 'k1' });
    expect(b.id).toBe(a.id);
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    const c = await settle(system.submit(job, { n: 2 }, { idempotencyKey: 'k1' }));
    expect(c.ok ? null : c.error.code).toBe('IDEMPOTENCY_CONFLICT');
    expect((await system.stats()).submitted).toBe(1);
  });
});

describe('store failures', () => {
  it('answers STORE_UNAVAILABLE when the store cannot be read, keeping the cause', async () => {
    const { createMemoryStore } = await import('@scalable-api/core');
    const store = createMemoryStore();
    // The fault only: an in-process store cannot become unreachable for real.
    store.get = () => Promise.reject(new Error('connection reset'));
    store.counts = () => Promise.reject(new Error('connection reset'));
    const job = defineJob({ name: 'any', run: () => 1 });
    const { system } = await setup({ jobs: [job], workers: 1, store });
    const calls: Promise<unknown>[] = [system.get('x'), system.tree('x'), system.stats()];
    for (const call of calls) {
      const outcome = await settle(call);
      expect(outcome.ok ? null : outcome.error.code).toBe('STORE_UNAVAILABLE');
      if (!outcome.ok) expect(outcome.error.cause.message).toBe('connection reset');
    }
  });
});
