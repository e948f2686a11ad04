import type { Cluster, Redis } from 'ioredis';
import { SystemStateError } from '@scalable-api/core';
import type { RedisStore } from './redis-store.js';
import type { ShardHealth } from './shard-health.js';
import { checkShardLayout } from './shard-layout.js';

/**
 * The way in to one shard: every operation of the sharded store goes through `on`, which answers
 * at once for a shard whose connection is down and keeps the shard's health up to date, after
 * `ready` has checked the shard layout once. Closing it refuses what comes after.
 */
export class ShardCalls {
  private layout: Promise<void> | undefined;
  private isClosed = false;

  constructor(
    private readonly shards: readonly RedisStore[],
    private readonly health: ShardHealth,
    /** Shard 0's connection: it records the shard count. */
    private readonly layoutClient: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  close(): void {
    this.isClosed = true;
  }

  /** Runs one shard's operation and keeps its health up to date. */
  async on<T>(shard: number, operation: (store: RedisStore) => Promise<T>): Promise<T> {
    // Its connection is down: answer now rather than after the client's reconnect attempts.
    if (this.health.unreachable(shard)) throw new SystemStateError('STORE_UNAVAILABLE', 'The job store is unavailable.');
    try {
      const result = await operation(this.shards[shard]!);
      this.health.answered(shard);
      return result;
    } catch (error) {
      if (isUnavailable(error)) this.health.failed(shard);
      throw error;
    }
  }

  /** Checked once before the first operation (see `checkShardLayout`); an unreachable shard 0 postpones it. */
  ready(): Promise<void> {
    if (this.isClosed) return Promise.reject(new SystemStateError('STORE_UNAVAILABLE', 'The Redis store is closed.'));
    this.layout ??= checkShardLayout(this.layoutClient, this.prefix, this.shards.length).catch((error: unknown) => {
      if (isUnavailable(error)) {
        this.layout = undefined;
        return;
      }
      throw error;
    });
    return this.layout;
  }
}

export function isUnavailable(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 'STORE_UNAVAILABLE';
}
