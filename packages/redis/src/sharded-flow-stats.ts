import { topKeyCount, topKeys, type FlowGateState, type FlowKeyStats, type FlowNameStats, type FlowStatsQuery } from '@scalable-api/core';
import { perShard } from './shard-flow.js';

/**
 * `flowStats` over shards: each shard reports what it holds (its share of each limit, see
 * shard-flow.ts), and the answers add up per name and per key. A bucket's tokens are the sum of
 * the shards' shares; a gate is held only while every shard holds it (until the first opens); a
 * push-back holds its own shard, and the latest is shown. A key with jobs on several shards is
 * one key in `top` but is counted by each in `keys` (so `keys` is at most the true count).
 */
export async function shardedFlowStats(
  shards: number,
  query: FlowStatsQuery,
  onShard: (shard: number, query: FlowStatsQuery) => Promise<FlowNameStats[]>,
): Promise<FlowNameStats[]> {
  const n = topKeyCount(query);
  // Every key of every shard's top may rank in the merged top: each shard reports up to the most.
  const asked: FlowStatsQuery = { ...query, flow: query.flow && perShard(query.flow, shards) };
  const answers = await Promise.all(Array.from({ length: shards }, (_, shard) => onShard(shard, asked)));
  return answers[0]!.map((first, i): FlowNameStats => {
    const parts = answers.map((answer) => answer[i]!);
    const keys = new Map<string, FlowKeyStats[]>();
    for (const part of parts) for (const key of part.top) keys.set(key.key, [...(keys.get(key.key) ?? []), key]);
    const merged = [...keys.entries()].map(([key, of]): FlowKeyStats => {
      const out: FlowKeyStats = { key, queued: sum(of, (k) => k.queued), ...mergeGates(of) };
      if (of.some((k) => k.running !== undefined)) out.running = sum(of, (k) => k.running ?? 0);
      return out;
    });
    return {
      name: first.name,
      queued: sum(parts, (p) => p.queued),
      keys: sum(parts, (p) => p.keys),
      partial: parts.some((p) => p.partial),
      top: topKeys(merged, n),
      ...mergeGates(parts),
    };
  });
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += of(item);
  return total;
}

function mergeGates(gates: readonly FlowGateState[]): FlowGateState {
  const out: FlowGateState = {};
  if (gates.every((g) => g.heldUntil !== undefined)) out.heldUntil = Math.min(...gates.map((g) => g.heldUntil!));
  const pushBacks = gates.flatMap((g) => (g.pushBackUntil === undefined ? [] : [g.pushBackUntil]));
  if (pushBacks.length > 0) out.pushBackUntil = Math.max(...pushBacks);
  if (gates.some((g) => g.tokens !== undefined)) out.tokens = Math.floor(sum(gates, (g) => g.tokens ?? 0));
  return out;
}
