import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from '@scalable-api/core/testing';
import { functionLibrary, readFunctionLibrary } from '../src/function-library.js';
import { createRedisStore } from '../src/index.js';
import { canStartRedis, startRedisServer, type PrivateRedis } from './private-redis.js';
import { testPrefix } from './redis-fixture.js';

/**
 * The library as a whole, on a Redis of the test's own: it is deleted, and the server restarted,
 * which a shared Redis must not see.
 */
if (!canStartRedis) console.warn('\n!!! function library suite SKIPPED: install redis-server to run it. !!!\n');

(canStartRedis ? describe : describe.skip)('the function library', () => {
  let server: PrivateRedis;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedisServer([]);
    admin = new Redis(server.port);
    admin.on('error', () => {});
  }, 30_000);
  afterAll(() => {
    admin?.disconnect();
    server?.stop();
  });

  function open() {
    return createRedisStore({ url: `redis://127.0.0.1:${server.port}`, prefix: testPrefix(), clock: new SimulatedClock() });
  }

  it('is named by a hash of its content, so two versions load side by side', () => {
    expect(functionLibrary.name).toMatch(/^scalable_api_[0-9a-f]{16}$/);
    expect(readFunctionLibrary().name).toBe(functionLibrary.name);
    // No helper prelude per call and no interpolation: the library is the files, wrapped.
    expect(functionLibrary.source.startsWith(`#!lua name=${functionLibrary.name}\n`)).toBe(true);
  });

  it('registers every function under the library name: enqueue refused when Redis is full, what moves work along allowed, reads read-only', async () => {
    const store = open();
    try {
      await store.counts();
      await store.enqueue([{ id: 'a', name: 'n', input: {}, priority: 0 }], { limit: 10 });
      const [library] = (await admin.function('LIST', 'LIBRARYNAME', functionLibrary.name)) as unknown[][];
      const functions = library![library!.indexOf('functions') + 1] as unknown[][];
      const flags = Object.fromEntries(functions.map((f) => [String(f[1]).slice(functionLibrary.name.length + 1), f[5]]));
      expect(flags).toEqual({
        enqueue: [],
        claim: ['allow-oom'],
        settle: ['allow-oom'],
        renew: ['allow-oom'],
        set_waiting: ['allow-oom'],
        progress: ['allow-oom'],
        cancel: ['allow-oom'],
        cascade: ['allow-oom'],
        get_many: ['no-writes'],
        children: ['no-writes'],
        events: ['no-writes'],
        // Adding a schedule or firing one adds data: refused under maxmemory, like enqueue.
        schedule_upsert: [],
        schedule_fire: [],
        schedule_remove: ['allow-oom'],
        schedules: ['no-writes'],
        pause_type: ['allow-oom'],
        resume_type: ['allow-oom'],
        paused_types: ['no-writes'],
        list: ['no-writes'],
        // Building the listing index adds data: refused under maxmemory, like enqueue.
        list_build: [],
        flow_stats: ['no-writes'],
        push_back: ['allow-oom'],
      });
    } finally {
      await store.close();
    }
  });

  it('loads the library again when it was deleted under a running store', async () => {
    const store = open();
    try {
      await store.enqueue([{ id: 'a', name: 'n', input: {}, priority: 0 }], { limit: 10 });
      await admin.function('DELETE', functionLibrary.name);
      expect(await store.enqueue([{ id: 'b', name: 'n', input: {}, priority: 0 }], { limit: 10 })).toMatchObject([{ ok: true }]);
      expect((await store.counts()).queued).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('loads the library again after a Redis restart', async () => {
    const store = open();
    try {
      await store.enqueue([{ id: 'a', name: 'n', input: {}, priority: 0 }], { limit: 10 });
      // A restart without persistence: the server comes back empty, functions included.
      server.stop();
      await new Promise((resolve) => setTimeout(resolve, 200));
      server = await startRedisServer([], server.port);
      admin.disconnect();
      admin = new Redis(server.port);
      admin.on('error', () => {});
      expect(await admin.function('LIST')).toEqual([]);
      await expect
        .poll(async () => (await store.enqueue([{ id: 'b', name: 'n', input: {}, priority: 0 }], { limit: 10 }).catch(() => []))[0]?.ok, {
          timeout: 10_000,
        })
        .toBe(true);
      expect((await store.counts()).queued).toBe(1);
    } finally {
      await store.close();
    }
  });
});
