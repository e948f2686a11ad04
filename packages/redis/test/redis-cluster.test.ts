import { spawnSync } from 'node:child_process';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from '@scalable-api/core/testing';
import { runStoreConformance } from '@scalable-api/core/testing/conformance';
import { createRedisStore } from '../src/index.js';
import { canStartRedis, randomPort, startRedisServer, type PrivateRedis } from './private-redis.js';
import { testPrefix, redisCapabilities } from './redis-fixture.js';

/**
 * The store on a real Redis Cluster: REDIS_CLUSTER_NODES ("host:port,…") names one, else the
 * test starts three masters of its own on loopback with the local `redis-server`. Without
 * either it skips, loudly: the single-node suite is the one CI requires.
 */
const given = process.env.REDIS_CLUSTER_NODES?.split(',').map((n) => {
  const [host, port] = n.split(':');
  return { host: host!, port: Number(port) };
});
if (!given && !canStartRedis) {
  console.warn('\n!!! Redis Cluster suite SKIPPED: set REDIS_CLUSTER_NODES or install redis-server. !!!\n');
}

(given || canStartRedis ? describe : describe.skip)('createRedisStore on Redis Cluster', () => {
  const servers: PrivateRedis[] = [];
  let nodes = given ?? [];

  beforeAll(async () => {
    if (given) return;
    const base = randomPort();
    for (let i = 0; i < 3; i++) {
      const settings = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--maxmemory-policy', 'noeviction'];
      servers.push(await startRedisServer(settings, base + i));
    }
    nodes = servers.map((s) => ({ host: '127.0.0.1', port: s.port }));
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8' },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    // The cluster is usable once every node agrees that all slots are covered.
    const probe = new Cluster(nodes);
    for (let i = 0; i < 100; i++) {
      const info = await probe.cluster('INFO').catch(() => '');
      if (String(info).includes('cluster_state:ok')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await probe.quit();
  }, 30_000);

  afterAll(() => {
    for (const server of servers) server.stop();
  });

  runStoreConformance('createRedisStore (Cluster)', (options) => {
    const clock = new SimulatedClock();
    const prefix = testPrefix();
    const client = new Cluster(nodes);
    const store = createRedisStore({ client, prefix, clock, ...options });
    return {
      store,
      clock,
      supports: { ...redisCapabilities, rateLimits: true, fairShare: true },
      async cleanup() {
        for (const node of client.nodes('master')) {
          const keys = await node.keys(`{${prefix}}:*`);
          if (keys.length > 0) await node.del(...keys);
        }
        await client.quit();
      },
    };
  });

  it('keeps a whole store in one slot', async () => {
    const client = new Cluster(nodes);
    try {
      const prefix = testPrefix();
      const store = createRedisStore({ client, prefix });
      await store.enqueue([{ id: 'a', name: 'n', input: {}, priority: 0, idempotencyKey: 'k' }], { limit: 10 });
      await store.claim({ owner: 'me', max: 1, leaseMs: 1_000 });
      const slots = new Set<number>();
      for (const node of client.nodes('master')) {
        for (const key of await node.keys(`{${prefix}}:*`)) slots.add(Number(await node.cluster('KEYSLOT', key)));
      }
      expect(slots.size).toBe(1);
      await store.close();
    } finally {
      await client.quit();
    }
  });
});
