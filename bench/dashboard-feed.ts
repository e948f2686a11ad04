/**
 * What the dashboard costs a busy node with no tab open: CPU per no-op job through the actors,
 * with and without the dashboard's feed listening to the job events. Variants alternate in one
 * process (the feed is the only difference), several rounds each, medians and the ratio printed.
 *
 *   node --conditions=source --import tsx bench/dashboard-feed.ts [jobs=200000] [rounds=4]
 */
import { createJobSystem, defineJob } from '@scalable-api/core';
import { DashboardFeed } from '../packages/http-adapter/src/dashboard/dashboard-feed.js';

const jobs = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 4);
const noop = defineJob({ name: 'noop', run: () => 1 });

/** CPU nanoseconds per job, submit to settled. */
async function run(withFeed: boolean): Promise<number> {
  const system = createJobSystem({ jobs: [noop], workers: 64, queue: { limit: jobs }, retention: { count: 10_000 } });
  await system.start();
  const feed = withFeed
    ? new DashboardFeed(system, {
        updatesPerSecond: 2,
        recentJobs: 5_000,
        historySeconds: 300,
        listLimit: 200,
        treeNodes: 2_000,
        slowReaderBytes: 1 << 18,
        visible: undefined,
      })
    : undefined;
  const cpu = process.cpuUsage();
  for (let i = 0; i < jobs; i += 1_000) await Promise.all(Array.from({ length: 1_000 }, () => system.submit(noop, undefined)));
  while ((await system.stats()).completed < jobs) await new Promise((resolve) => setTimeout(resolve, 5));
  const used = process.cpuUsage(cpu);
  feed?.close();
  await system.stop({ drain: false, timeoutMs: 0 });
  return ((used.user + used.system) * 1_000) / jobs;
}

const without: number[] = [];
const withFeed: number[] = [];
for (let round = 0; round < rounds; round++) {
  without.push(await run(false));
  withFeed.push(await run(true));
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const a = median(without);
const b = median(withFeed);
console.log(`${jobs} no-op jobs, 64 workers, ${rounds} alternating rounds (CPU ns per job)`);
console.log(`  without dashboard feed  ${without.map(Math.round).join(' ')}  median ${Math.round(a)}`);
console.log(`  with dashboard feed     ${withFeed.map(Math.round).join(' ')}  median ${Math.round(b)}`);
console.log(`  ratio with/without      ${(b / a).toFixed(3)}`);
