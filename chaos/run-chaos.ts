/**
 * `npm run chaos [scenario ...]`: the fault and bad-input suite against real processes and a
 * real Redis (servers of its own on spare loopback ports; the shared one is never touched).
 * Prints one table row per scenario and exits 1 if any guarantee was broken.
 *
 *   CHAOS_RUNS            repetitions of each scenario (default 3)
 *   CHAOS_OVERLOAD_S      seconds of 10x overload (default 60)
 *   CHAOS_SLOWLORIS_S     seconds of slowloris (default 40)
 *   CHAOS_SUBSCRIBER_KILL_S  seconds of killed subscriber connections (default 60)
 *   CHAOS_SSE_S           seconds of SSE-heavy load with Redis dropping slow subscribers (default 30)
 *   CHAOS_TREE_SIZE       depth of the deep chains and width of the wide trees (default 100,000)
 *   CHAOS_DEEP_STORES     the stores deep-trees tries, comma-separated (default memory,redis)
 *   CHAOS_STALL_S         seconds of load with an event-loop stall every 10 s (default 60)
 *   CHAOS_VERBOSE=1       the nodes' stderr on this terminal
 */
import { cpus, loadavg } from 'node:os';
import { quantile, ms } from './figures.js';
import { startPrivateRedis } from './private-redis.js';
import { ProcessGroup } from './process-group.js';
import type { ScenarioReport } from './scenario-report.js';
import { cpuHogScenario } from './scenarios/cpu-hog.js';
import { idempotencyStormScenario } from './scenarios/idempotency-storm.js';
import { overloadScenario } from './scenarios/overload.js';
import { slowlorisScenario } from './scenarios/slowloris.js';
import { killNodeScenario } from './scenarios/kill-node.js';
import { killParentNodeScenario } from './scenarios/kill-parent-node.js';
import { partitionNodeScenario } from './scenarios/partition-node.js';
import { pauseNodeScenario } from './scenarios/pause-node.js';
import { poisonJobScenario } from './scenarios/poison-job.js';
import { redisRestartScenario } from './scenarios/redis-restart.js';
import { sigtermNodeScenario } from './scenarios/sigterm-node.js';
import { subscriberKillScenario } from './scenarios/subscriber-kill.js';
import { eventLoopStallScenario } from './scenarios/event-loop-stall.js';
import { blackholePartitionScenario } from './scenarios/blackhole-partition.js';
import { deepTreesScenario } from './scenarios/deep-trees.js';
import { pubsubOverflowScenario } from './scenarios/pubsub-overflow-sse.js';

const runs = Number(process.env['CHAOS_RUNS'] ?? 3);

type Scenario = (group: ProcessGroup, redisUrl: string) => Promise<ScenarioReport>;

const scenarios: Record<string, Scenario> = {
  'kill-node': (group, redisUrl) => killNodeScenario({ group, redisUrl, runs }),
  sigterm: (group, redisUrl) => sigtermNodeScenario({ group, redisUrl, runs }),
  'redis-always': (group) => redisRestartScenario({ group, appendfsync: 'always', runs }),
  'redis-everysec': (group) => redisRestartScenario({ group, appendfsync: 'everysec', runs }),
  'pause-node': (group, redisUrl) => pauseNodeScenario({ group, redisUrl, runs }),
  partition: (group, redisUrl) => partitionNodeScenario({ group, redisUrl, runs }),
  'kill-parent': (group, redisUrl) => killParentNodeScenario({ group, redisUrl, runs }),
  poison: (group, redisUrl) => poisonJobScenario({ group, redisUrl, runs }),
  'cpu-hog': (group, redisUrl) => cpuHogScenario({ group, redisUrl, runs }),
  overload: (group, redisUrl) => overloadScenario({ group, redisUrl, seconds: Number(process.env['CHAOS_OVERLOAD_S'] ?? 60) }),
  slowloris: (group) => slowlorisScenario({ group, seconds: Number(process.env['CHAOS_SLOWLORIS_S'] ?? 40) }),
  idempotency: (group) => idempotencyStormScenario({ group, runs }),
  'subscriber-kill': (group) => subscriberKillScenario({ group, seconds: Number(process.env['CHAOS_SUBSCRIBER_KILL_S'] ?? 60) }),
  blackhole: (group) => blackholePartitionScenario({ group, runs }),
  'sse-overflow': (group) => pubsubOverflowScenario({ group, seconds: Number(process.env['CHAOS_SSE_S'] ?? 30) }),
  'deep-trees': (group) =>
    deepTreesScenario({
      group,
      size: Number(process.env['CHAOS_TREE_SIZE'] ?? 100_000),
      stores: (process.env['CHAOS_DEEP_STORES'] ?? 'memory,redis').split(',') as ('memory' | 'redis')[],
    }),
  stall: (group) => eventLoopStallScenario({ group, seconds: Number(process.env['CHAOS_STALL_S'] ?? 60) }),
};

const wanted = process.argv.slice(2);
for (const name of wanted) if (!(name in scenarios)) throw new Error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
const selected = wanted.length > 0 ? wanted : Object.keys(scenarios);

const group = new ProcessGroup();
const reports: ScenarioReport[] = [];
// Whatever happens — Ctrl-C, a crash of the harness itself — no node or Redis server outlives the suite.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void group.killAll().then(() => process.exit(130)));
}
process.on('exit', () => group.killAllNow());
const began = Date.now();
console.log(
  `chaos: ${selected.length} scenarios x ${runs} runs on ${cpus().length} cores (${cpus()[0]?.model}), Node ${process.version}, load ${loadavg()[0]!.toFixed(1)}`,
);
try {
  const redis = await startPrivateRedis(group);
  try {
    for (const name of selected) {
      const started = Date.now();
      let report: ScenarioReport;
      try {
        report = await scenarios[name]!(group, redis.url);
      } catch (error) {
        report = {
          name,
          fault: 'the scenario itself failed',
          runs: 0,
          accepted: 0,
          completed: 0,
          lost: 0,
          duplicated: 0,
          recovery: [],
          recoveryMeans: '',
          notes: [],
          violations: [describeError(error)],
        };
      }
      reports.push(report);
      printReport(report, Date.now() - started);
    }
  } finally {
    await redis.stop();
  }
} finally {
  await group.killAll();
}

console.log(`\n| scenario | runs | accepted | completed | lost | duplicated | recovery p50 | recovery p99 | recovery = |`);
console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---|`);
for (const r of reports) {
  console.log(
    `| ${r.name} | ${r.runs} | ${r.accepted} | ${r.completed} | ${r.lost} | ${r.duplicated} | ${ms(quantile(r.recovery, 0.5))} | ${ms(quantile(r.recovery, 0.99))} | ${r.recoveryMeans} |`,
  );
}
const broken = reports.filter((r) => r.violations.length > 0);
console.log(`\nchaos: ${reports.length} scenarios in ${ms(Date.now() - began)}, ${broken.length} with broken guarantees`);
process.exitCode = broken.length > 0 ? 1 : 0;

function printReport(r: ScenarioReport, tookMs: number): void {
  console.log(`\n## ${r.name} (${ms(tookMs)})\n  ${r.fault}`);
  console.log(
    `  lost ${r.lost} of ${r.accepted} acknowledged, ${r.duplicated} duplicated side effects, ${r.completed} completed; recovery p50 ${ms(quantile(r.recovery, 0.5))}, p99 ${ms(quantile(r.recovery, 0.99))} (${r.recoveryMeans})`,
  );
  for (const note of r.notes) console.log(`  - ${note}`);
  for (const violation of r.violations) console.log(`  !! ${violation}`);
}

/** The stack, and the cause's message: store errors keep Redis' own text only as the cause. */
function describeError(error: unknown): string {
  const text = String((error as Error).stack ?? error);
  const cause = (error as { cause?: unknown }).cause;
  return cause === undefined ? text : `${text}\n  caused by: ${String((cause as Error).message ?? cause)}`;
}
