import type { Cluster, Redis } from 'ioredis';
import { SystemStateError } from '@scalable-api/core';

/**
 * Every node of a system must split it into the same number of shards, or jobs would be looked
 * for in the wrong place. The first node records the count under `{prefix}:layout` (on the
 * connection of shard 0); a node configured with another count is refused with a TypeError
 * naming both counts. An unreachable Redis rejects with STORE_UNAVAILABLE: the caller tries
 * again later.
 *
 * @example
 * await checkShardLayout(client, 'thumbnails', 4);
 */
export async function checkShardLayout(client: Redis | Cluster, prefix: string, count: number): Promise<void> {
  const key = `{${prefix}}:layout`;
  let recorded: string | null;
  try {
    const set = await client.set(key, String(count), 'NX');
    recorded = set === 'OK' ? String(count) : await client.get(key);
  } catch (error) {
    throw new SystemStateError('STORE_UNAVAILABLE', 'The job store is unavailable.', { cause: error });
  }
  if (recorded !== String(count)) {
    throw new TypeError(
      `This node splits the store "${prefix}" into ${count} shards, but it was created with ${recorded}: every node must use the same count (see docs/scaling-out.md).`,
    );
  }
}
