import type { EnqueueOptions, EnqueueOutcome, NewJob } from '@scalable-api/core';
import { assertPlainText, encodeJson } from './json-codec.js';
import { isUnavailable, type ShardCalls } from './shard-calls.js';
import type { ShardCounts } from './shard-counts.js';
import type { ShardHints } from './shard-hints.js';
import type { ShardRouter } from './shard-router.js';
import { scatter, soleShard } from './scatter.js';

/** What an enqueue across the shards works with: the sharded store's own parts. */
export interface ShardedEnqueueParts {
  router: ShardRouter;
  counted: ShardCounts;
  hints: ShardHints;
  calls: ShardCalls;
}

/**
 * A batch of new jobs, each to the shard its id names. The queue bound spans the shards: the
 * other shards' queued + delayed counts are read (`ShardCounts`), and each shard's own atomic
 * check gets what is left of `limit` (details in docs/scaling-out.md). A shard that does not
 * answer fails only its own jobs (`STORE_UNAVAILABLE`), unless the batch went to it alone.
 */
export async function enqueueAcross(parts: ShardedEnqueueParts, jobs: readonly NewJob[], options: EnqueueOptions): Promise<EnqueueOutcome[]> {
  if (jobs.length === 0) return [];
  const { router, counted, hints, calls } = parts;
  await calls.ready();
  const shardOf = (job: NewJob) => router.shardOf(job.id);
  // A value a shard would refuse must refuse the whole batch before any shard has stored its part.
  if (soleShard(jobs, shardOf) === undefined) for (const job of jobs) assertEncodable(job);
  const depth = await counted.depths(jobs.length, options.limit);
  // The parts of one batch run at once, each against the same counts: each part also leaves room
  // for the parts before it, as if they were all taken, so together they cannot pass the bound.
  let before = 0;
  const {
    out,
    parts: sent,
    failed,
    failure,
  } = await scatter(
    jobs,
    shardOf,
    async (shard, part) => {
      const taken = before;
      before += part.length;
      const limit = roomIn(depth, shard, options.limit, taken);
      const outcomes = await calls.on(shard, (store) => store.enqueue(part, { ...options, limit }));
      // Counted as queued until the next read: what this node adds keeps its view conservative.
      // And the shard has work: this node's next claim goes there without waiting for the signal.
      for (const outcome of outcomes) {
        if (!(outcome.ok && outcome.created)) continue;
        counted.added(shard);
        if (outcome.status === 'queued') hints.work(shard);
      }
      return outcomes;
    },
    (error): EnqueueOutcome => {
      if (!isUnavailable(error)) throw error;
      return { ok: false, code: 'STORE_UNAVAILABLE' };
    },
  );
  // One shard and it failed: the caller sees what a single store would throw.
  if (failed === sent) throw failure;
  return out;
}

/** What is left of `limit` for `shard`: the bound less every other shard's depth and `taken` (jobs already counted elsewhere). */
export function roomIn(depth: readonly number[], shard: number, limit: number, taken = 0): number {
  let others = taken;
  for (let s = 0; s < depth.length; s++) if (s !== shard) others += depth[s]!;
  return Math.max(0, limit - others);
}

/** The checks `RedisStore.enqueue` makes before it sends anything, made for a whole batch up front. */
function assertEncodable(job: NewJob): void {
  assertPlainText(job.id, 'id');
  assertPlainText(job.name, 'name');
  if (job.rootId !== undefined) assertPlainText(job.rootId, 'rootId');
  encodeJson(job.input, `input of job ${job.id} (${job.name})`);
}
