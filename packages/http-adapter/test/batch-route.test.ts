import { createMemoryStore, type JobStore } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import { afterEach, describe, expect, it } from 'vitest';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from '../../redis/test/redis-fixture.js';
import { post, setup, type Setup } from './setup.js';

let t: Setup | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await t?.close();
  await cleanup?.();
  t = undefined;
  cleanup = undefined;
});

/** Counts the store's enqueue calls: a batch must be one. */
function counted(store: JobStore): { store: JobStore; calls: () => number } {
  let calls = 0;
  const enqueue = store.enqueue.bind(store);
  store.enqueue = (jobs, options) => {
    calls++;
    return enqueue(jobs, options);
  };
  return { store, calls: () => calls };
}

function batchSuite(name: string, newStore: () => { store: JobStore; cleanup: () => Promise<void> }) {
  async function start(options: { workers?: number; limit?: number; maxItems?: number } = {}) {
    const made = newStore();
    cleanup = made.cleanup;
    const spy = counted(made.store);
    t = await setup({
      system: { workers: options.workers ?? 0, store: spy.store, queue: { limit: options.limit ?? 1_000 } },
      plugin: options.maxItems ? { limits: { batch: { maxItems: options.maxItems } } } : {},
    });
    return { app: t.app, system: t.system, calls: spy.calls };
  }

  describe(`POST {prefix}/:name/batch (${name})`, () => {
    it('enqueues a JSON array in one store call and answers 202 with an id per item', async () => {
      const { app, system, calls } = await start({ workers: 2 });
      const before = calls();
      const res = await post(app, '/jobs/echo/batch', [{ input: { n: 1 } }, { input: { n: 2 } }, { input: { n: 3 } }]);
      expect(res.statusCode).toBe(202);
      const body = res.json();
      expect(body).toMatchObject({ durable: system.store.durable, accepted: 3, refused: 0 });
      expect(calls() - before).toBe(1);
      const outputs = await Promise.all(body['items'].map((item: { id: string }) => system.handle(item.id).result()));
      expect(outputs).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    });

    it('takes NDJSON, one item a line, blank lines skipped', async () => {
      const { app } = await start();
      const payload = '{"input":{"ms":1}}\n\n{"input":{"ms":2}}\n';
      const res = await app.inject({ method: 'POST', url: '/jobs/sleep/batch', headers: { 'content-type': 'application/x-ndjson' }, payload });
      expect(res.statusCode).toBe(202);
      expect(res.json().items).toHaveLength(2);
      const bad = await app.inject({
        method: 'POST',
        url: '/jobs/sleep/batch',
        headers: { 'content-type': 'application/x-ndjson' },
        payload: '{"input":{}}\n{oops',
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ code: 'MALFORMED_REQUEST', detail: expect.stringContaining('Line 2') });
    });

    it('answers 207 with a problem per refused item and enqueues the rest', async () => {
      const { app, system } = await start();
      const res = await post(app, '/jobs/sleep/batch', [{ input: { ms: 1 } }, { input: { ms: -1 } }, { nope: 1 }, { input: { ms: 3 } }]);
      expect(res.statusCode).toBe(207);
      const body = res.json();
      expect(body).toMatchObject({ accepted: 2, refused: 2 });
      expect(body['items'][1].error).toMatchObject({ status: 422, code: 'INPUT_INVALID', instance: '/jobs/sleep/batch#/1' });
      expect(body['items'][1].error.issues[0].path).toEqual(['ms']);
      expect(body['items'][2].error).toMatchObject({ status: 400, code: 'MALFORMED_REQUEST' });
      expect((await system.stats()).queued).toBe(2);
    });

    it('atomic: refuses the whole batch when an item is invalid, and enqueues nothing', async () => {
      const { app, system, calls } = await start();
      const before = calls();
      const res = await post(app, '/jobs/sleep/batch?atomic=true', [{ input: { ms: 1 } }, { input: { ms: 'x' } }]);
      expect(res.statusCode).toBe(422);
      expect(res.headers['content-type']).toContain('application/problem+json');
      const body = res.json();
      expect(body['code']).toBe('INPUT_INVALID');
      expect(body['issues'][0].path).toEqual([1, 'input', 'ms']);
      expect(body['items'].map((i: { error: { code: string } }) => i.error.code)).toEqual(['BATCH_ABORTED', 'INPUT_INVALID']);
      expect(calls()).toBe(before);
      expect((await system.stats()).queued).toBe(0);
    });

    it('atomic: refuses the whole batch past the queue bound with 503 and Retry-After', async () => {
      const { app, system } = await start({ limit: 3 });
      const items = [1, 2, 3, 4].map((ms) => ({ input: { ms } }));
      const res = await post(app, '/jobs/sleep/batch?atomic=true', items);
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expect(res.json().code).toBe('QUEUE_FULL');
      expect((await system.stats()).queued).toBe(0);
      // Not atomic: what fits goes in, the rest is refused item by item.
      const partial = await post(app, '/jobs/sleep/batch', items);
      expect(partial.statusCode).toBe(207);
      expect(partial.headers['retry-after']).toMatch(/^\d+$/);
      expect(partial.json()).toMatchObject({ accepted: 3, refused: 1, items: [{}, {}, {}, { error: { code: 'QUEUE_FULL', status: 503 } }] });
    });

    it('atomic: an item whose key is held with other input refuses the batch (IDEMPOTENCY_CONFLICT)', async () => {
      const { app, system } = await start();
      const first = await post(app, '/jobs/sleep', { ms: 1 }, { 'idempotency-key': 'order-7' });
      expect(first.statusCode).toBe(202);
      const res = await post(app, '/jobs/sleep/batch?atomic=true', [{ input: { ms: 5 } }, { input: { ms: 2 }, idempotencyKey: 'order-7' }]);
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({
        code: 'IDEMPOTENCY_CONFLICT',
        items: [{ error: { code: 'BATCH_ABORTED' } }, { error: { code: 'IDEMPOTENCY_CONFLICT' } }],
      });
      expect((await system.stats()).queued).toBe(1);
    });

    it('honours per-item keys (shared with single submits) and a batch key for items without one', async () => {
      const { app, system } = await start();
      const single = await post(app, '/jobs/sleep', { ms: 9 }, { 'idempotency-key': 'k9' });
      const items = [{ input: { ms: 9 }, idempotencyKey: 'k9' }, { input: { ms: 1 } }, { input: { ms: 2 } }];
      const a = await post(app, '/jobs/sleep/batch', items, { 'idempotency-key': 'batch-1' });
      const b = await post(app, '/jobs/sleep/batch', items, { 'idempotency-key': 'batch-1' });
      expect(a.statusCode).toBe(202);
      expect(b.statusCode).toBe(202);
      expect(a.json().items[0]).toEqual({ id: single.json().id, status: 'queued', created: false });
      expect(b.json().items).toEqual(a.json().items.map((i: object) => ({ ...i, created: false })));
      expect((await system.stats()).queued).toBe(3);
    });

    it('refuses more items than the bound with 413 BATCH_TOO_LARGE, and an empty batch with 400', async () => {
      const { app } = await start({ maxItems: 3 });
      const res = await post(
        app,
        '/jobs/echo/batch',
        [1, 2, 3, 4].map(() => ({ input: {} })),
      );
      expect(res.statusCode).toBe(413);
      expect(res.json().code).toBe('BATCH_TOO_LARGE');
      expect((await post(app, '/jobs/echo/batch', [])).statusCode).toBe(400);
      expect((await post(app, '/jobs/echo/batch', { input: {} })).statusCode).toBe(400);
      const unknown = await post(app, '/jobs/nope/batch', [{ input: {} }]);
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().code).toBe('JOB_TYPE_UNKNOWN');
    });
  });
}

batchSuite('memory store', () => ({ store: createMemoryStore(), cleanup: async () => {} }));

await describeWithRedis('batch submit on Redis', () => {
  batchSuite('Redis store', () => {
    const prefix = testPrefix();
    const store = createRedisStore({ url: redisUrl, prefix });
    return { store, cleanup: () => deletePrefix(prefix) };
  });
});
