/**
 * What the plugin's metrics cost a busy node: CPU per no-op job through the actors, with and
 * without the metrics the plugin keeps for `/metrics` (prom-client histograms fed by the store's
 * job events, and one counted HTTP response per job, as the plugin's onResponse hook does).
 * Variants alternate in one process (the metrics are the only difference), several rounds each,
 * medians and the ratio printed; then what one scrape (`render()`, prom-client's exposition with
 * the process metrics) costs.
 *
 *   node --conditions=source --import tsx bench/metrics-cost.ts [jobs=200000] [rounds=5]
 *
 * CPU time rather than throughput: on a shared machine it moves less with the neighbours' load.
 */
import { createJobSystem, defineJob } from '@scalable-api/core';
import { JobsMetrics } from '../packages/http-adapter/src/jobs-metrics.js';

const jobs = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 5);
const noop = defineJob({ name: 'noop', run: () => 1 });

/** CPU nanoseconds per job, submit to settled, and the CPU ms of one scrape at the end. */
async function run(withMetrics: boolean): Promise<{ perJob: number; scrapeMs: number }> {
  const system = createJobSystem({ jobs: [noop], workers: 64, queue: { limit: jobs }, retention: { count: 10_000 } });
  await system.start();
  const metrics = withMetrics ? new JobsMetrics({ stats: () => system.stats(), sseConnections: () => 0, draining: () => false }) : undefined;
  const unsubscribe = system.store.subscribe((signal) => {
    if (signal.type === 'job.event') metrics?.observe(signal.event);
  });
  const cpu = process.cpuUsage();
  for (let i = 0; i < jobs; i += 1_000) {
    await Promise.all(
      Array.from({ length: 1_000 }, async () => {
        await system.submit(noop, undefined);
        metrics?.countResponse('POST', '/jobs/:name', 202);
      }),
    );
  }
  while ((await system.stats()).completed < jobs) await new Promise((resolve) => setTimeout(resolve, 5));
  const used = process.cpuUsage(cpu);
  let scrapeMs = NaN;
  if (metrics) {
    const before = process.cpuUsage();
    await metrics.render();
    const scrape = process.cpuUsage(before);
    scrapeMs = (scrape.user + scrape.system) / 1_000;
    metrics.close();
  }
  unsubscribe();
  await system.stop({ drain: false, timeoutMs: 0 });
  return { perJob: ((used.user + used.system) * 1_000) / jobs, scrapeMs };
}

const without: number[] = [];
const withMetrics: number[] = [];
const scrapes: number[] = [];
for (let round = 0; round < rounds; round++) {
  // Alternating which goes first, so a drift in the machine's load falls on both.
  const pair = round % 2 === 0 ? [false, true] : [true, false];
  for (const variant of pair) {
    const { perJob, scrapeMs } = await run(variant);
    if (variant) {
      withMetrics.push(perJob);
      scrapes.push(scrapeMs);
    } else without.push(perJob);
  }
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const a = median(without);
const b = median(withMetrics);
console.log(`${jobs} no-op jobs, 64 workers, ${rounds} alternating rounds (CPU ns per job)`);
console.log(`  without metrics  ${without.map(Math.round).join(' ')}  median ${Math.round(a)}`);
console.log(`  with metrics     ${withMetrics.map(Math.round).join(' ')}  median ${Math.round(b)}`);
console.log(`  ratio with/without ${(b / a).toFixed(3)}, difference ${Math.round(b - a)} ns per job`);
console.log(`  one scrape: ${median(scrapes).toFixed(1)} ms CPU (median)`);
