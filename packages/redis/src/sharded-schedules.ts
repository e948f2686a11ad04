import { maxSchedules } from '@scalable-api/core';
import type {
  EnqueueOptions,
  ScheduleDefinition,
  ScheduleFire,
  ScheduleFireOutcome,
  ScheduleQuery,
  ScheduleRecord,
  ScheduleUpsertOutcome,
} from '@scalable-api/core';
import type { RedisStore } from './redis-store.js';
import type { ShardRouter } from './shard-router.js';
import { scatter } from './scatter.js';

/** What the sharded store lends: its router, and a way to run one shard's operation (health kept). */
export interface ShardAccess {
  router: ShardRouter;
  count: number;
  on<T>(shard: number, operation: (store: RedisStore) => Promise<T>): Promise<T>;
  /** The queue bound the shard may use, given what the other shards hold. */
  limitFor(shard: number, adding: number, limit: number): Promise<number>;
}

/**
 * Schedules over shards. A schedule lives in the shard its key's hash picks, and its jobs are
 * placed there too (`newId({ scheduleKey })`), so taking a tick and enqueueing its job stay one
 * atomic call of one shard. A listing reads every shard and merges by next tick. Paused job types
 * are written to every shard, since each shard's claim reads its own; a pause that reached only
 * some shards fails (STORE_UNAVAILABLE) and is safe to repeat.
 */
export class ShardedSchedules {
  constructor(private readonly shards: ShardAccess) {}

  upsert(definition: ScheduleDefinition): Promise<ScheduleUpsertOutcome> {
    return this.shards.on(this.shardOf(definition.key), (store) => store.upsertSchedule(definition));
  }

  remove(key: string): Promise<boolean> {
    return this.shards.on(this.shardOf(key), (store) => store.removeSchedule(key));
  }

  async list(query: ScheduleQuery): Promise<ScheduleRecord[]> {
    const limit = Math.max(0, Math.min(query.limit, maxSchedules));
    const all = await Promise.all(this.each((shard) => this.shards.on(shard, (store) => store.schedules({ ...query, limit }))));
    return all
      .flat()
      .sort((a, b) => a.nextAt - b.nextAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .slice(0, limit);
  }

  async fire(fires: readonly ScheduleFire[], options: EnqueueOptions): Promise<ScheduleFireOutcome[]> {
    const { out } = await scatter(
      fires,
      (fire) => this.shardOf(fire.key),
      async (shard, part) => {
        const limit = await this.shards.limitFor(shard, part.length, options.limit);
        return this.shards.on(shard, (store) => store.fireSchedules(part, { ...options, limit }));
      },
      (error): ScheduleFireOutcome => {
        if ((error as { code?: unknown } | undefined)?.code !== 'STORE_UNAVAILABLE') throw error;
        return { outcome: 'refused', code: 'STORE_UNAVAILABLE' };
      },
    );
    return out;
  }

  async pause(name: string): Promise<void> {
    await Promise.all(this.each((shard) => this.shards.on(shard, (store) => store.pauseType(name))));
  }

  async resume(name: string): Promise<void> {
    await Promise.all(this.each((shard) => this.shards.on(shard, (store) => store.resumeType(name))));
  }

  /** Paused on any shard counts as paused: a pause half written is shown, so it can be repeated or undone. */
  async paused(): Promise<string[]> {
    const all = await Promise.all(this.each((shard) => this.shards.on(shard, (store) => store.pausedTypes())));
    return [...new Set(all.flat())].sort();
  }

  private shardOf(key: string): number {
    return this.shards.router.placed({ scheduleKey: key })!;
  }

  private each<T>(operation: (shard: number) => Promise<T>): Promise<T>[] {
    return Array.from({ length: this.shards.count }, (_, shard) => operation(shard));
  }
}
