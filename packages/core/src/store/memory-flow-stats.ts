import { flowKeysExamined, gateState, maxFlowStatsNames, topKeyCount, topKeys, type FlowNameStats, type FlowStatsQuery } from './flow-stats.js';
import type { MemoryState } from './memory-state.js';

/** The memory store's `flowStats`: read from its fair queues, gates and per-key running counts; changes nothing. */
export function memoryFlowStats(state: MemoryState, query: FlowStatsQuery): FlowNameStats[] {
  const now = state.clock.now();
  const n = topKeyCount(query);
  return query.names.slice(0, maxFlowStatsNames).map((name): FlowNameStats => {
    const rate = query.flow?.get(name)?.rate;
    const counted = query.flow?.get(name)?.concurrencyPerKey !== undefined;
    const queue = state.ready.get(name);
    const { keys, first } = queue?.examine(flowKeysExamined) ?? { keys: 0, first: [] };
    let queued = queue?.plain.size ?? 0;
    const examined = first.map(({ key, queued: q }) => {
      queued += q;
      const stats = { key, queued: q, ...gateState(state.gates.peek(name, key), rate?.perKey ? rate : undefined, now) };
      return counted ? { ...stats, running: queue!.running.get(key) ?? 0 } : stats;
    });
    return {
      name,
      queued,
      keys,
      partial: keys > first.length,
      top: topKeys(examined, n),
      ...gateState(state.gates.peek(name, undefined), rate && !rate.perKey ? rate : undefined, now),
    };
  });
}
