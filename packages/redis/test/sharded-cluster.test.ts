import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StoreSignal } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { runStoreConformance } from '@scalable-api/core/testing/conformance';
import { createRedisStore, shardPrefix } from '../src/index.js';
import { testPrefix, redisCapabilities } from './redis-fixture.js';
import { clusterClient, describeWithServers, startShardCluster, type ShardCluster } from './shard-servers.js';
import { deleteShardedPrefix, shardedExempt } from './sharded-fixture.js';

describeWithServers('createRedisStore({ shards: 6, client: Cluster }) on a three-master Redis Cluster', () => {
  let cluster: ShardCluster;
  const clients: Cluster[] = [];

  beforeAll(async () => {
    cluster = await startShardCluster(3);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    await cluster?.stop();
  });
  const client = () => {
    const c = clusterClient(cluster);
    clients.push(c);
    return c;
  };

  runStoreConformance(
    'createRedisStore({ shards: 6 }) on a Cluster',
    (options) => {
      const clock = new SimulatedClock();
      const prefix = testPrefix();
      const shared = client();
      const store = createRedisStore({ shards: 6, client: shared, prefix, clock, ...options });
      return {
        store,
        clock,
        supports: redisCapabilities,
        cleanup: () => deleteShardedPrefix(prefix, [shared]),
      };
    },
    shardedExempt,
  );

  /** Which master holds `key`, by port. */
  async function masterOf(shared: Cluster, key: string): Promise<number> {
    const slot = Number(await shared.cluster('KEYSLOT', key));
    const ranges = await shared.cluster('SLOTS');
    return ranges.find(([from, to]) => slot >= from && slot <= to)![2]![1];
  }

  it('spreads six shards two to a master, each shard whole on its master', async () => {
    const shared = client();
    const prefix = testPrefix();
    const store = createRedisStore({ shards: 6, client: shared, prefix });
    try {
      const ids = [0, 1, 2, 3, 4, 5].map((shard) => store.router.idIn(shard));
      await store.enqueue(
        ids.map((id) => ({ id, name: 'n', input: {}, priority: 0 })),
        { limit: 100 },
      );
      await store.claim({ owner: 'a', max: 3, leaseMs: 60_000 });
      const perMaster = new Map<number, Set<number>>();
      for (let shard = 0; shard < 6; shard++) {
        const port = await masterOf(shared, `{${shardPrefix(prefix, shard, 6)}}:x`);
        perMaster.set(port, (perMaster.get(port) ?? new Set()).add(shard));
      }
      expect([...perMaster.values()].map((s) => s.size)).toEqual([2, 2, 2]);
      // Every key a shard wrote is on the master of its tag.
      for (const node of shared.nodes('master')) {
        const port = node.options.port!;
        for (const key of await node.keys(`{${prefix}:*`)) {
          const shard = ids.findIndex((_, s) => key.startsWith(`{${shardPrefix(prefix, s, 6)}}:`));
          expect(perMaster.get(port)!.has(shard)).toBe(true);
        }
      }
    } finally {
      await store.close();
      await deleteShardedPrefix(prefix, [shared]);
    }
  });

  it('signals through sharded pub/sub: delivered to the node that listens, never broadcast over the cluster bus', async () => {
    const shared = client();
    const prefix = testPrefix();
    const store = createRedisStore({ shards: 6, client: shared, prefix });
    const admins = cluster.nodes.map((n) => new Redis(n.port, n.host));
    try {
      const published = async () => {
        let sum = 0;
        for (const admin of admins) sum += Number(/cluster_stats_messages_publish_sent:(\d+)/.exec(String(await admin.cluster('INFO')))?.[1] ?? 0);
        return sum;
      };
      const seen: StoreSignal[] = [];
      store.subscribe((signal) => seen.push(signal));
      await store.counts(); // every shard's subscription is live
      const before = await published();
      const ids = [0, 1, 2, 3, 4, 5].map((shard) => store.router.idIn(shard));
      await store.enqueue(
        ids.map((id) => ({ id, name: 'n', input: {}, priority: 0 })),
        { limit: 100 },
      );
      await expect.poll(() => seen.flatMap((s) => (s.type === 'job.event' ? [s.event.id] : [])).sort()).toEqual([...ids].sort());
      // PUBLISH on a Cluster is forwarded to every node; SPUBLISH stays on the shard's master.
      expect((await published()) - before).toBe(0);
    } finally {
      for (const admin of admins) admin.disconnect();
      await store.close();
      await deleteShardedPrefix(prefix, [shared]);
    }
  });
});
