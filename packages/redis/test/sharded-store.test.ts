import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import type { NewJob, StoreSignal } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { runStoreConformance } from '@scalable-api/core/testing/conformance';
import { createRedisStore, shardPrefix, ShardedRedisStore, type RedisStore } from '../src/index.js';
import { describeWithRedis, redisUrl, testPrefix, redisCapabilities } from './redis-fixture.js';
import { deleteShardedPrefix, shardedExempt } from './sharded-fixture.js';

await describeWithRedis('createRedisStore({ shards }) on one Redis', () => {
  runStoreConformance(
    'createRedisStore({ shards: 4 })',
    (options) => {
      const clock = new SimulatedClock();
      const prefix = testPrefix();
      const store = createRedisStore({ shards: 4, url: redisUrl, prefix, clock, ...options });
      // What RedisStore declares: each shard is one.
      return {
        store,
        clock,
        supports: redisCapabilities,
        cleanup: () => deleteShardedPrefix(prefix),
      };
    },
    shardedExempt,
  );

  const opened: { store: ShardedRedisStore; prefix: string }[] = [];
  afterEach(async () => {
    for (const { store, prefix } of opened.splice(0)) {
      await store.close();
      await deleteShardedPrefix(prefix);
    }
  });
  function open(shards: number, prefix = testPrefix()) {
    const clock = new SimulatedClock();
    const store = createRedisStore({ shards, url: redisUrl, prefix, clock });
    opened.push({ store, prefix });
    return { store, prefix, clock };
  }
  const job = (id: string, extra: Partial<NewJob> = {}): NewJob => ({ id, name: 'n', input: {}, priority: 0, ...extra });

  it('keeps each job under its shard’s hash tag and answers for it from there', async () => {
    const { store, prefix } = open(3);
    const ids = [0, 1, 2].map((shard) => store.router.idIn(shard));
    expect(
      await store.enqueue(
        ids.map((id) => job(id)),
        { limit: 10 },
      ),
    ).toMatchObject(ids.map((id) => ({ ok: true, id, created: true })));
    const client = new Redis(redisUrl);
    try {
      for (const [shard, id] of ids.entries()) {
        const keys = (await client.keys(`*${prefix}*`)).filter((key) => key.includes(id));
        expect(keys.length).toBeGreaterThan(0);
        for (const key of keys) expect(key.startsWith(`{${shardPrefix(prefix, shard, 3)}}:`)).toBe(true);
        expect(await store.get(id)).toMatchObject({ id, status: 'queued' });
        expect((await store.events(id, 0)).map((e) => e.type)).toEqual(['job.queued']);
      }
      expect(await store.cancel(ids[1]!)).toBe('cancelled');
      expect(await store.counts()).toMatchObject({ queued: 2, cancelled: 1 });
    } finally {
      await client.quit();
    }
  });

  it('holds the queue bound over all shards: a shard takes only what the others leave', async () => {
    const { store } = open(3);
    for (const shard of [0, 1, 2]) {
      const outcomes = await store.enqueue([job(store.router.idIn(shard)), job(store.router.idIn(shard))], { limit: 6 });
      expect(outcomes.every((o) => o.ok)).toBe(true);
    }
    expect(await store.counts()).toMatchObject({ queued: 6 });
    expect(await store.enqueue([job(store.router.idIn(1))], { limit: 6 })).toEqual([{ ok: false, code: 'QUEUE_FULL' }]);
    expect(await store.enqueue([job(store.router.idIn(0)), job(store.router.idIn(2))], { limit: 6 })).toEqual([
      { ok: false, code: 'QUEUE_FULL' },
      { ok: false, code: 'QUEUE_FULL' },
    ]);
    // A claim anywhere makes room anywhere.
    expect((await store.claim({ owner: 'a', max: 1, leaseMs: 1_000 })).jobs).toHaveLength(1);
    const [third, fourth] = await store.enqueue([job(store.router.idIn(2)), job(store.router.idIn(1))], { limit: 6 });
    expect([third!.ok, fourth!.ok].filter(Boolean)).toHaveLength(1);
    expect(await store.counts()).toMatchObject({ queued: 6, running: 1 });
  });

  it('refuses a whole batch over several shards when one job cannot be stored', async () => {
    const { store } = open(3);
    const batch = [job(store.router.idIn(0)), job(store.router.idIn(1), { input: { at: new Date() } })];
    await expect(store.enqueue(batch, { limit: 10 })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    expect(await store.get(batch[0]!.id)).toBeUndefined();
  });

  it('sends an idempotency key to the same shard from every node', async () => {
    const a = open(4);
    const b = open(4, a.prefix);
    const first = job(a.store.newId({ idempotencyKey: 'order-7' }), { idempotencyKey: 'order-7', fingerprint: 'f' });
    const again = job(b.store.newId({ idempotencyKey: 'order-7' }), { idempotencyKey: 'order-7', fingerprint: 'f' });
    expect(a.store.router.shardOf(first.id)).toBe(b.store.router.shardOf(again.id));
    expect(await a.store.enqueue([first], { limit: 10 })).toMatchObject([{ ok: true, created: true }]);
    expect(await b.store.enqueue([again], { limit: 10 })).toMatchObject([{ ok: true, created: false, id: first.id }]);
  });

  it('places a child in its parent’s shard, so a tree lives in its root’s', async () => {
    const { store } = open(4);
    const root = store.newId({});
    const child = store.newId({ parentId: root });
    const grandchild = store.newId({ parentId: child });
    expect(new Set([root, child, grandchild].map((id) => store.router.shardOf(id))).size).toBe(1);
    await store.enqueue([job(root, { awaitChildren: 1 }), job(child, { parentId: root })], { limit: 10, atomic: true });
    expect((await store.children(root)).map((c) => c.id)).toEqual([child]);
  });

  it('spreads jobs free to go anywhere over the shards, one shard per tick', async () => {
    const { store } = open(3);
    const perShard = [0, 0, 0];
    for (let tick = 0; tick < 30; tick++) {
      const ids = Array.from({ length: 5 }, () => store.newId({}));
      expect(new Set(ids.map((id) => store.router.shardOf(id))).size).toBe(1);
      perShard[store.router.shardOf(ids[0]!)]! += ids.length;
      await Promise.resolve();
    }
    expect(perShard).toEqual([50, 50, 50]);
  });

  it('claims a little work on one shard beside a flood on another', async () => {
    const { store } = open(2);
    store.subscribe(() => {});
    await store.enqueue(
      Array.from({ length: 500 }, () => job(store.router.idIn(0))),
      { limit: 10_000 },
    );
    await store.claim({ owner: 'a', max: 10, leaseMs: 60_000 });
    const few = [1, 2, 3].map(() => store.router.idIn(1));
    await store.enqueue(
      few.map((id) => job(id)),
      { limit: 10_000 },
    );
    const claimed: string[] = [];
    for (let i = 0; i < 2; i++) claimed.push(...(await store.claim({ owner: 'a', max: 10, leaseMs: 60_000 })).jobs.map((j) => j.id));
    expect(claimed).toEqual(expect.arrayContaining(few));
  });

  it('asks one shard per claim while that shard fills it', async () => {
    const prefix = testPrefix();
    const base = createRedisStore({ shards: 3, url: redisUrl, prefix });
    opened.push({ store: base, prefix });
    const calls = [0, 0, 0];
    // The same stores, counted: ShardedRedisStore takes its shards as built by createRedisStore.
    const parts = (base as unknown as { parts: ConstructorParameters<typeof ShardedRedisStore>[0] }).parts;
    const counted = parts.shards.map((shard, i) => {
      const claim = shard.claim.bind(shard);
      return Object.assign(Object.create(shard) as RedisStore, {
        claim: (request: Parameters<RedisStore['claim']>[0]) => {
          calls[i]!++;
          return claim(request);
        },
      });
    });
    const store = new ShardedRedisStore({ ...parts, shards: counted, release: async () => {} });
    const queued: string[] = [];
    store.subscribe((signal) => signal.type === 'job.event' && queued.push(signal.event.id));
    await store.claim({ owner: 'a', max: 1, leaseMs: 60_000 }); // looks everywhere: every shard is empty
    await store.enqueue(
      Array.from({ length: 100 }, () => job(store.router.idIn(1))),
      { limit: 1_000 },
    );
    // The enqueue's work signal has arrived with its job events (one message).
    await expect.poll(() => queued.length).toBe(100);
    calls.fill(0);
    for (let i = 0; i < 20; i++) expect((await store.claim({ owner: 'a', max: 4, leaseMs: 60_000 })).jobs).toHaveLength(4);
    expect(calls).toEqual([0, 20, 0]);
  });

  it('delivers the signals of every shard to a subscriber', async () => {
    const { store } = open(3);
    const seen: StoreSignal[] = [];
    store.subscribe((signal) => seen.push(signal));
    await store.counts(); // waits until the subscriptions are live
    const ids = [0, 1, 2].map((shard) => store.router.idIn(shard));
    await store.enqueue(
      ids.map((id) => job(id)),
      { limit: 10 },
    );
    await expect.poll(() => seen.flatMap((s) => (s.type === 'job.event' ? [s.event.id] : [])).sort()).toEqual([...ids].sort());
  });

  it('refuses to work beside a node that splits the store into another number of shards', async () => {
    const { prefix, store } = open(3);
    await store.counts();
    const other = open(4, prefix).store;
    await expect(other.counts()).rejects.toThrow(/3 shards|with 3/);
    await expect(other.enqueue([job(other.newId({}))], { limit: 10 })).rejects.toThrow(TypeError);
  });
});
