import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore } from '../src/index.js';
import { canStartRedis, startRedisServer, type PrivateRedis } from './private-redis.js';
import { testPrefix } from './redis-fixture.js';

/** Commands counted from `INFO commandstats`, on a Redis of the test's own (nobody else's traffic). */
if (!canStartRedis) console.warn('\n!!! getMany suite SKIPPED: install redis-server to run it. !!!\n');

(canStartRedis ? describe : describe.skip)('createRedisStore getMany and children', () => {
  let server: PrivateRedis;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedisServer([]);
    admin = new Redis(server.port);
  }, 30_000);
  afterAll(() => {
    admin?.disconnect();
    server?.stop();
  });

  /** Bytes Redis read from its clients: what it had to receive and parse. */
  async function bytesIn(): Promise<number> {
    return Number(/total_net_input_bytes:(\d+)/.exec(await admin.info('stats'))![1]);
  }

  it('reads a thousand records with a couple of commands, in the order asked', async () => {
    const store = createRedisStore({ url: `redis://127.0.0.1:${server.port}`, prefix: testPrefix() });
    try {
      const jobs = Array.from({ length: 1_000 }, (_, i) => ({ id: `j${i}`, name: 'n', input: { i }, priority: 0 }));
      await store.enqueue(jobs, { limit: 10_000 });
      const ids = [...jobs.map((j) => j.id).reverse(), 'missing'];
      const before = await bytesIn();
      const records = await store.getMany(ids);
      const received = (await bytesIn()) - before;
      expect(records.map((r) => r?.input)).toEqual([...jobs.map((j) => j.input).reverse(), undefined]);
      // The ids and little else: the field names once per 500 ids, not once per id (a command per
      // id, as a pipeline of HMGETs sends, is ~230 bytes each).
      console.info(`getMany of ${ids.length} ids: Redis received ${received} bytes`);
      expect(received / ids.length).toBeLessThan(40);
    } finally {
      await store.close();
    }
  });

  it('reads the children of a parent with more than one slice of them', async () => {
    const store = createRedisStore({ url: `redis://127.0.0.1:${server.port}`, prefix: testPrefix() });
    try {
      await store.enqueue([{ id: 'p', name: 'n', input: {}, priority: 0 }], { limit: 10_000 });
      await store.claim({ owner: 'me', max: 1, leaseMs: 60_000 });
      const children = Array.from({ length: 1_200 }, (_, i) => ({ id: `c${i}`, name: 'n', input: { i }, priority: 0, parentId: 'p' }));
      await store.enqueue(children, { limit: 10_000 });
      expect((await store.children('p')).map((c) => c.id)).toEqual(children.map((c) => c.id));
    } finally {
      await store.close();
    }
  });
});
