import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreSignal } from '@scalable-api/core';
import { createRedisStore, type RedisStore } from '../src/index.js';
import { canStartRedis, startRedisServer, type PrivateRedis } from './private-redis.js';
import { testPrefix } from './redis-fixture.js';

/**
 * Signals are hints that may be lost; the store says when they may have been. On a Redis of the
 * test's own, so that killing every subscriber connection touches nobody else's.
 */
if (!canStartRedis) console.warn('\n!!! signals suite SKIPPED: install redis-server to run it. !!!\n');

(canStartRedis ? describe : describe.skip)('createRedisStore signals', () => {
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

  async function open(): Promise<{ store: RedisStore; prefix: string; seen: StoreSignal[] }> {
    const prefix = testPrefix();
    const store = createRedisStore({ url: `redis://127.0.0.1:${server.port}`, prefix });
    const seen: StoreSignal[] = [];
    store.subscribe((signal) => seen.push(signal));
    await store.counts(); // the subscription is live once any call returns
    return { store, prefix, seen };
  }

  it('sends signals.resumed once its subscriber connection is back after being killed, and signals flow again', async () => {
    const { store, seen } = await open();
    try {
      expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
      await expect.poll(() => seen.map((s) => s.type), { timeout: 10_000 }).toContain('signals.resumed');
      seen.length = 0;
      await store.enqueue([{ id: 'a', name: 'n', input: {}, priority: 0 }], { limit: 10 });
      await expect.poll(() => seen.map((s) => s.type)).toContain('work.available');
    } finally {
      await store.close();
    }
  });

  it('skips messages on its channel that are not its own, without throwing in the client', async () => {
    const { store, prefix, seen } = await open();
    try {
      const channel = `{${prefix}}:signals`;
      const foreign = [
        '{}',
        'garbage',
        '[{"type":"work.available"}]',
        '1\ne\tq\tid',
        '1\ne\tzz\tid\t1\tn\t\t\t\t\t',
        '1\ne\tc\tid\tnot-a-seq\tn\t\t\t\t\t',
        '1\ne\tf\tid\t3\tn\t\t\tnot json\t\t',
        '1\nk\tid\towner\t{}',
        '1\nx\tid\t"meta"',
        '1\n\u0000\t\t',
      ];
      for (const message of foreign) await admin.spublish(channel, message);
      // A message of the store's own: the time of the call, then a line per signal.
      await admin.spublish(channel, '1\nw');
      await expect.poll(() => seen).toEqual([{ type: 'work.available' }]);
    } finally {
      await store.close();
    }
  });

  it('keeps delivering to the other listeners when one throws', async () => {
    const { store, prefix, seen } = await open();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      store.subscribe(() => {
        throw new Error('a listener bug');
      });
      const after: StoreSignal[] = [];
      store.subscribe((signal) => after.push(signal));
      await admin.spublish(`{${prefix}}:signals`, '1\nw');
      await expect.poll(() => after).toEqual([{ type: 'work.available' }]);
      expect(seen).toEqual([{ type: 'work.available' }]);
      await expect.poll(() => warnings.map((w) => w.message)).toEqual(['a listener bug']);
    } finally {
      process.off('warning', onWarning);
      await store.close();
    }
  });
});
