import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { SimulatedClock } from '@scalable-api/core/testing';
import { runStoreConformance } from '@scalable-api/core/testing/conformance';
import { createRedisStore, type RedisStore } from '../src/index.js';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix, redisCapabilities } from './redis-fixture.js';

await describeWithRedis('createRedisStore', () => {
  runStoreConformance('createRedisStore', (options) => {
    const clock = new SimulatedClock();
    const prefix = testPrefix();
    const store = createRedisStore({ url: redisUrl, prefix, clock, ...options });
    return {
      store,
      clock,
      supports: { ...redisCapabilities, rateLimits: true, fairShare: true },
      cleanup: () => deletePrefix(prefix),
    };
  });

  const opened: { store: RedisStore; prefix: string }[] = [];
  afterEach(async () => {
    for (const { store, prefix } of opened.splice(0)) {
      await store.close();
      await deletePrefix(prefix);
    }
  });
  function open(client?: Redis) {
    const prefix = testPrefix();
    const clock = new SimulatedClock();
    const store = createRedisStore({ prefix, clock, ...(client ? { client } : { url: redisUrl }) });
    opened.push({ store, prefix });
    return { store, prefix, clock };
  }

  it('refuses input that is not plain JSON and stores nothing of the batch', async () => {
    const { store } = open();
    const ok = { id: 'a', name: 'n', input: { when: 'now' }, priority: 0 };
    for (const input of [{ when: new Date() }, { n: Number.NaN }, { big: 1n }, new Map()]) {
      await expect(store.enqueue([ok, { id: 'b', name: 'n', input, priority: 0 }], { limit: 10 })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    }
    expect(await store.get('a')).toBeUndefined();
  });

  it('refuses ids and names that would need escaping', async () => {
    const { store } = open();
    await expect(store.enqueue([{ id: 'a"b', name: 'n', input: {}, priority: 0 }], { limit: 10 })).rejects.toThrow(TypeError);
    await expect(store.enqueue([{ id: 'a', name: 'n\\', input: {}, priority: 0 }], { limit: 10 })).rejects.toThrow(TypeError);
    expect(await store.get('a')).toBeUndefined();
  });

  it('fails a job whose output is not plain JSON instead of losing the settlement', async () => {
    const { store } = open();
    await store.enqueue([{ id: 'a', name: 'n', input: {}, priority: 0 }], { limit: 10 });
    const { jobs } = await store.claim({ owner: 'me', max: 1, leaseMs: 1_000 });
    expect(await store.settle([{ ...jobs[0]!, outcome: 'completed', output: { at: new Date() } }])).toEqual(['ok']);
    expect(await store.get('a')).toMatchObject({ status: 'failed', error: { code: 'JOB_FAILED' } });
  });

  it('reports an unreachable Redis as STORE_UNAVAILABLE instead of hanging', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    const store = createRedisStore({ url: 'redis://127.0.0.1:1', prefix: testPrefix() });
    try {
      await expect(store.enqueue([{ id: 'a', name: 'n', input: {}, priority: 0 }], { limit: 10 })).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
      });
      await expect(store.get('a')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      await store.close();
    }
  });

  it('keeps every key of a store under one hash tag', async () => {
    const { store, prefix } = open();
    await store.enqueue([{ id: 'p', name: 'n', input: {}, priority: 0, idempotencyKey: 'k' }], { limit: 10 });
    await store.claim({ owner: 'me', max: 1, leaseMs: 1_000 });
    await store.enqueue([{ id: 'c', name: 'n', input: {}, priority: 0, parentId: 'p', childKey: 'x', runAt: Date.now() * 2 }], { limit: 10 });
    const client = new Redis(redisUrl);
    try {
      const keys = await client.keys(`*${prefix}*`);
      expect(keys.length).toBeGreaterThan(5);
      for (const key of keys) expect(key.startsWith(`{${prefix}}:`)).toBe(true);
    } finally {
      await client.quit();
    }
  });

  it('sees jobs and signals of another store on the same prefix (another node)', async () => {
    const a = open();
    const b = createRedisStore({ url: redisUrl, prefix: a.prefix, clock: a.clock });
    try {
      const seen: string[] = [];
      b.subscribe((s) => seen.push(s.type === 'job.event' ? s.event.type : s.type));
      await b.counts(); // any call of b waits until its subscription is live
      await a.store.enqueue([{ id: 'x', name: 'n', input: { v: 1 }, priority: 0 }], { limit: 10 });
      const { jobs } = await b.claim({ owner: 'node-b', max: 10, leaseMs: 1_000 });
      expect(jobs.map((j) => j.input)).toEqual([{ v: 1 }]);
      await expect.poll(() => seen).toEqual(expect.arrayContaining(['job.queued', 'work.available', 'job.started']));
    } finally {
      await b.close();
    }
  });

  it('leaves a client it was given open, and closes only the connections it made', async () => {
    const client = new Redis(redisUrl);
    try {
      const { store } = open(client);
      store.subscribe(() => {});
      await store.counts();
      await store.close();
      expect(await client.ping()).toBe('PONG');
      await expect(store.counts()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      await client.quit();
    }
  });
});
