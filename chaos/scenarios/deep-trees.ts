import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createMemoryStore } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import { ms } from '../figures.js';
import { runDeepTrees, type DeepTreeStep } from '../deep-tree-run.js';
import { startPrivateRedis } from '../private-redis.js';
import { describeLatency, LatencyProbe } from '../redis-latency-probe.js';
import type { ProcessGroup } from '../process-group.js';
import { emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface DeepTreesOptions {
  group: ProcessGroup;
  /** Depth of the chains and width of the trees. */
  size?: number;
  /** Which stores to try (default both): one alone for a quicker look. */
  stores?: readonly ('memory' | 'redis')[];
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
  const { group, size = 100_000, stores = ['memory', 'redis'] } = options;
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

  if (stores.includes('memory')) {
    const memory = createMemoryStore({ retention: { count: 1 } });
    // The memory store works a cascade in slices with turns of the event loop between them
    // (memory-tree.ts): the longest delay says how long one stretch held this process.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    try {
      await runDeepTrees(memory, size, async (step) => {
        record('memory', step, `; longest event-loop delay ${ms(loop.max / 1e6)}`);
        loop.reset();
      });
    } finally {
      loop.disable();
      await memory.close();
    }
  }
  if (!stores.includes('redis')) return report;

  const redis = await startPrivateRedis(
    group,
    ['--slowlog-log-slower-than', '1000', '--slowlog-max-len', '100000', '--latency-monitor-threshold', '1'],
    { realtime: true },
  );
  const admin = redis.admin();
  const probe = new LatencyProbe(admin);
  const store = createRedisStore({ url: redis.url, prefix: 'deep', retention: { count: 1 } });
  let slowest = 0;
  try {
    // Loads the function library (FUNCTION LOAD, once), which is not a cascade: the slow log
    // starts after it.
    await store.get('warm-up');
    if (!redis.realtime)
      report.notes.push('chrt refused: the private redis-server ran under the ordinary scheduler, so its figures include waits for a CPU');
    await probe.start();
    await runDeepTrees(store, size, async (step) => {
      const reading = await probe.read();
      slowest = Math.max(slowest, reading.maxMs);
      record('redis', step, `; load ${loadavg()[0]!.toFixed(1)}; ${describeLatency(reading, maxCommandMs)}`);
      const name = reading.slow[0]?.command ?? '–';
      if ((reading.slow[0]?.ms ?? 0) >= maxCommandMs)
        report.violations.push(`redis, ${step.what}: a ${name} call ran ${reading.slow[0]!.ms.toFixed(1)} ms (limit ${maxCommandMs} ms)`);
      for (const event of reading.events) {
        if (event.maxMs >= maxCommandMs)
          report.violations.push(`redis, ${step.what}: LATENCY shows a ${event.event} event of ${event.maxMs} ms (limit ${maxCommandMs} ms)`);
      }
    });
  } finally {
    probe.stop();
    await store.close();
    admin.disconnect();
    await redis.stop();
  }
  report.completed = report.accepted;
  report.notes.unshift(`the longest Redis command in all cases: ${slowest.toFixed(1)} ms (SLOWLOG and LATENCY; limit ${maxCommandMs} ms)`);
  return report;
}
