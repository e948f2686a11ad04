import {
  flowKeysExamined,
  gateState,
  maxFlowStatsNames,
  topKeyCount,
  type FlowKeyStats,
  type FlowNameStats,
  type FlowStatsQuery,
  type RawGate,
} from '@scalable-api/core';

type Reply = [string, number, number, number, number, [string, number, number | string, string][]];

/**
 * The Redis store's `flowStats`: one read-only call per name (lua/flow-stats.lua), all sent at
 * once, so each stays short on Redis while the whole answer costs one round trip. The gates come
 * back raw and are read here with the same arithmetic as the memory store (`gateState`).
 */
export async function redisFlowStats(read: (args: string[]) => Promise<unknown>, now: number, query: FlowStatsQuery): Promise<FlowNameStats[]> {
  const n = topKeyCount(query);
  const names = query.names.slice(0, maxFlowStatsNames);
  const replies = (await Promise.all(
    names.map((name) => read([name, String(flowKeysExamined), String(n), query.flow?.get(name)?.concurrencyPerKey === undefined ? '0' : '1'])),
  )) as Reply[];
  return names.map((name, i): FlowNameStats => {
    const [gate, plain, keys, examined, queued, top] = replies[i]!;
    const rate = query.flow?.get(name)?.rate;
    return {
      name,
      queued: plain + queued,
      keys,
      partial: keys > examined,
      top: top.map(([key, entries, running, keyGate]) => {
        const stats: FlowKeyStats = { key, queued: entries, ...gateState(parseGate(keyGate), rate?.perKey ? rate : undefined, now) };
        if (running !== '') stats.running = Number(running);
        return stats;
      }),
      ...gateState(parseGate(gate), rate && !rate.perKey ? rate : undefined, now),
    };
  });
}

/** A gate as flow.lua stores it, `tat:until`; '' for none. */
function parseGate(value: string): RawGate | undefined {
  if (value === '') return undefined;
  const [tat, until] = value.split(':');
  return { tat: Number(tat) || 0, until: Number(until) || 0 };
}
