import type { ClaimedJob, ClaimRequest, ClaimResult } from '@scalable-api/core';
import type { ShardHints } from './shard-hints.js';

/**
 * One claim over shards: the shards of `plan` one after the other, each asked for what the claim
 * still lacks, until it is filled. So a busy shard fills a claim in one round trip, a claim that
 * finds little visits more shards, and an idle worker never costs a round trip per shard. Each
 * answer updates the hints; a shard that fails is skipped (its error is thrown only when no shard
 * answered).
 *
 * @example
 * const result = await claimInTurn(hints.plan(now, live), request, hints, now, (shard, r) => stores[shard].claim(r));
 */
export async function claimInTurn(
  plan: readonly number[],
  request: ClaimRequest,
  hints: ShardHints,
  now: () => number,
  claimOne: (shard: number, request: ClaimRequest) => Promise<ClaimResult>,
): Promise<ClaimedJob[]> {
  const jobs: ClaimedJob[] = [];
  const capacity = request.capacity ? new Map(request.capacity) : undefined;
  let failure: unknown;
  let answered = 0;
  for (const shard of plan) {
    const asked = request.max - jobs.length;
    if (asked <= 0) break;
    const generation = hints.generation(shard);
    let result: ClaimResult;
    try {
      result = await claimOne(shard, { ...request, max: asked, capacity });
    } catch (error) {
      failure = error;
      continue;
    }
    answered++;
    hints.claimed(shard, generation, asked, result.jobs.length, result.nextRunAt, now());
    for (const job of result.jobs) {
      jobs.push(job);
      // A per-name capacity is this node's, across shards: what one shard gave, the next may not.
      const left = capacity?.get(job.name);
      if (left !== undefined) capacity!.set(job.name, left - 1);
    }
  }
  if (answered === 0) throw failure;
  return jobs;
}
