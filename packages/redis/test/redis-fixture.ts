import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, it } from 'vitest';
import type { StoreCapabilities } from '@scalable-api/core/testing/conformance';
import { stopNodeProcess, type NodeProcess } from '@scalable-api/test-support/node-process';
import { deleteKeys, redisAnswers } from '@scalable-api/test-support/redis-admin';

export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The conformance suite's optional areas every Redis store variant runs (single store, shards on
 * one server, on several, on a Cluster). Rate limits and fair share are added by the variants that
 * hold them whole; the sharded ones split them over their shards (shard-flow.test.ts).
 */
export const redisCapabilities: StoreCapabilities = {
  released: true,
  parentToken: true,
  renewCancel: true,
  schedules: true,
  pause: true,
  retrySignal: true,
  list: true,
  flowStats: true,
};

/** A prefix no other test (or developer data) shares. */
export function testPrefix(): string {
  return `sa-test-${randomUUID().slice(0, 12)}`;
}

function reachable(): Promise<boolean> {
  return redisAnswers(new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2_000 }));
}

/**
 * Runs `suite` when Redis answers. Without Redis a developer's run skips loudly, but CI must
 * never pass by skipping: there the missing server is a failing test.
 */
export async function describeWithRedis(name: string, suite: () => void): Promise<void> {
  if (await reachable()) {
    describe(name, suite);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs a reachable Redis', () => {
        throw new Error(`Redis is not reachable at ${redisUrl}; CI must provide one (set REDIS_URL).`);
      });
    });
    return;
  }
  console.warn(`\n!!! ${name}: SKIPPED — Redis is not reachable at ${redisUrl} (set REDIS_URL). CI would fail here. !!!\n`);
  describe.skip(name, suite);
}

/** Deletes every key of a store prefix (SCAN, so a shared Redis is never blocked by KEYS). */
export async function deletePrefix(prefix: string): Promise<void> {
  const client = new Redis(redisUrl);
  try {
    await deleteKeys(client, `{${prefix}}:*`);
  } finally {
    await client.quit();
  }
}

/**
 * A multi-process test's clean-up after each test: its node processes stopped (SIGTERM, then
 * SIGKILL), its own store client closed and its keys deleted. `held` reads the test's variables
 * as they are then.
 */
export function cleanUpNodes(held: () => { nodes: readonly NodeProcess[]; store: { close(): Promise<void> } | undefined; prefix: string }): void {
  afterEach(async () => {
    const { nodes, store, prefix } = held();
    for (const node of nodes) await stopNodeProcess(node);
    await store?.close();
    await deletePrefix(prefix);
  });
}
