import { Redis, type Cluster } from 'ioredis';
import { deleteKeys } from '@scalable-api/test-support/redis-admin';
import { redisUrl } from './redis-fixture.js';

/**
 * Deletes every key of a sharded store: its shards' `{prefix:i…}` tags and the `{prefix}` tag of
 * its layout record. SCAN, so a shared Redis is never blocked; each server or master in turn.
 */
export async function deleteShardedPrefix(prefix: string, servers: (Redis | Cluster | string)[] = [redisUrl]): Promise<void> {
  for (const server of servers) {
    const nodes =
      typeof server === 'string'
        ? [new Redis(server)]
        : 'nodes' in server && typeof server.nodes === 'function'
          ? server.nodes('master')
          : [server as Redis];
    try {
      for (const node of nodes) {
        // One DEL per key: on a Cluster node the keys of one call may sit in different slots.
        for (const pattern of [`{${prefix}:*`, `{${prefix}}:*`]) await deleteKeys(node, pattern, { oneByOne: true });
      }
    } finally {
      if (typeof server === 'string') await nodes[0]!.quit();
    }
  }
}

/**
 * What the sharded store does not offer with one store's semantics: a rate limit and a per-key
 * concurrency are split over the shards (`max / N` each, see docs/flow-control.md), and keys take
 * turns within a shard. shard-flow.test.ts covers the split; the single-store cases do not apply.
 */
export const shardedExempt = {
  exempt: {
    rateLimits: 'split over the shards (max / N per shard); shard-flow.test.ts',
    fairShare: 'turns within each shard; shard-flow.test.ts',
  },
};
