import { createMemoryStore } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import { ms } from '../figures.js';
import { runDeepTrees, type DeepTreeStep } from '../deep-tree-run.js';
import { startPrivateRedis } from '../private-redis.js';
import type { ProcessGroup } from '../process-group.js';
import { emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface DeepTreesOptions {
  group: ProcessGroup;
  /** Depth of the chains and width of the trees. */
  size?: number;
}

/** What the issue allows one Redis call: no cascade may hold the server longer. */
const maxCommandMs = 50;

/**
 * A 100,000-deep chain and a 100,000-child tree, each cancelled and each run to completion, then
 * dropped by retention: on the memory store in this process, and on the Redis store over a
 * private server whose slow log records every command over 1 ms (`slowlog-log-slower-than 1000`)
 * and whose latency monitor every event over 1 ms. Everything must end as it should, with the
 * counters back at zero, and no Redis command may run 50 ms or more: cascades are bounded per
 * call and continued, never one call for a whole tree.
 */
export async function deepTreesScenario(options: DeepTreesOptions): Promise<ScenarioReport> {
  const { group, size = 100_000 } = options;
  const report = emptyReport(
    'deep chains and wide trees, cancelled and completed',
    `a chain ${size.toLocaleString('en')} deep and a root of ${size.toLocaleString('en')} children, each cancelled and each completed, then dropped by retention; memory store, then Redis (slow log over 1 ms)`,
    'cancel (or the last job queued) → every job of the tree settled',
  );
  const record = (store: string, step: DeepTreeStep, extra = '') => {
    report.runs++;
    report.accepted += step.jobs;
    if (step.what.includes('cancel') || step.what.includes('complet')) report.recovery.push(step.settleMs);
    for (const problem of step.problems) report.violations.push(`${store}, ${step.what}: ${problem}`);
    report.notes.push(`${store}: ${step.what}: built in ${ms(step.createMs)}, settled in ${ms(step.settleMs)}${extra}`);
  };

  const memory = createMemoryStore({ retention: { count: 1 } });
  try {
    await runDeepTrees(memory, size, async (step) => record('memory', step));
  } finally {
    await memory.close();
  }

  const redis = await startPrivateRedis(group, [
    '--slowlog-log-slower-than',
    '1000',
    '--slowlog-max-len',
    '100000',
    '--latency-monitor-threshold',
    '1',
  ]);
  const admin = redis.admin();
  const store = createRedisStore({ url: redis.url, prefix: 'deep', retention: { count: 1 } });
  let slowest = 0;
  try {
    // Loads the function library, which is not a cascade: the slow log starts after it.
    await store.counts();
    await admin.slowlog('RESET');
    await admin.latency('RESET');
    await runDeepTrees(store, size, async (step) => {
      const log = (await admin.slowlog('GET', '-1')) as [number, number, number, string[]][];
      await admin.slowlog('RESET');
      const latency = (await admin.latency('LATEST')) as [string, number, number, number][];
      await admin.latency('RESET');
      const top = log.reduce<[number, number, number, string[]] | undefined>((a, e) => (a === undefined || e[2] > a[2] ? e : a), undefined);
      const topMs = (top?.[2] ?? 0) / 1_000;
      const over10 = log.filter((e) => e[2] >= 10_000).length;
      const latencyMax = Math.max(0, ...latency.map((e) => Number(e[3])));
      slowest = Math.max(slowest, topMs, latencyMax);
      const name = top ? `${top[3][0]} ${(top[3][1] ?? '').replace(/^scalable_api_[0-9a-f]+_/, '')}` : '–';
      record(
        'redis',
        step,
        `; slow log: ${log.length} calls over 1 ms, ${over10} over 10 ms, the longest ${topMs.toFixed(1)} ms (${name}); LATENCY LATEST max ${latencyMax} ms (${latency.map((e) => `${e[0]} ${e[3]} ms`).join(', ') || 'none'})`,
      );
      if (topMs >= maxCommandMs) report.violations.push(`redis, ${step.what}: a ${name} call ran ${topMs.toFixed(1)} ms (limit ${maxCommandMs} ms)`);
      if (latencyMax >= maxCommandMs) report.violations.push(`redis, ${step.what}: LATENCY LATEST shows ${latencyMax} ms (limit ${maxCommandMs} ms)`);
    });
  } finally {
    await store.close();
    admin.disconnect();
    await redis.stop();
  }
  report.completed = report.accepted;
  report.notes.unshift(`the longest Redis command in all cases: ${slowest.toFixed(1)} ms (SLOWLOG and LATENCY LATEST; limit ${maxCommandMs} ms)`);
  return report;
}
