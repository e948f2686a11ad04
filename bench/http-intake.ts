/**
 * HTTP intake: how many jobs per second the full plugin accepts (parse, validate, enqueue, 202)
 * while workers run them, against a bare fastify route answering 202, in the same session.
 *
 *   throughput  autocannon, 100 connections, POST {"hello":"world"} to /jobs/echo, per variant:
 *               bare (fastify only), core (fastify + system.submitByName, no plugin), plugin (the
 *               jobs plugin). Fresh process per variant and run, a 2 s warm-up discarded, then
 *               BENCH_DURATION s measured; RUNS runs, median reported with the ratios.
 *   metrics     what /metrics costs: the plugin against the plugin with `metrics: false`, fresh
 *               process per variant and run, interleaved, RUNS runs of BENCH_DURATION s after a 2 s
 *               warm-up; req/s and the server's CPU per request (user + system from
 *               /proc/<pid>/stat over the measured window), medians and the ratio; then the time
 *               one scrape of /metrics takes on the loaded server.
 *   overload    the plugin in front of 4 workers running `sleep {ms:20}` (capacity 200 jobs/s)
 *               with a queue bound of 200, warmed up at capacity for 2 s, then offered 1,000 req/s
 *               open-loop for BENCH_DURATION s:
 *               accepted p50/p99, time to 503, memory over time, and every accepted job checked
 *               to have completed.
 *
 *   node --conditions=source --import tsx bench/http-intake.ts [throughput|metrics|overload]
 *
 * Everything runs on loopback; the load generator shares the machine (2 cores), so absolute
 * numbers drift from run to run and the ratios are what to compare.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { cpuSeconds, metric, startBenchServer, stopBenchServer, type BenchServer } from './bench-server.js';
import { overload } from './http-overload.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const DURATION = Number(process.env['BENCH_DURATION'] ?? 10);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 100);
const serverScript = fileURLToPath(new URL('./http-intake-server.ts', import.meta.url));
const body = JSON.stringify({ hello: 'world' });

function startServer(variant: string, env: Record<string, string> = {}): Promise<BenchServer> {
  return startBenchServer(serverScript, variant, env, { startMs: 30_000, memory: true });
}

function cannon(url: string, duration: number) {
  return autocannon({ url, method: 'POST', connections: CONNECTIONS, duration, headers: { 'content-type': 'application/json' }, body });
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** Jobs completed per second during the measured window (plugin only). */
  completedPerSec?: number;
}

async function throughputRun(variant: string): Promise<Sample> {
  const server = await startServer(variant);
  try {
    await cannon(`${server.base}/jobs/echo`, 2);
    const completedBefore = variant === 'plugin' ? await metric(server.base, 'scalable_api_jobs_completed_total') : 0;
    const started = performance.now();
    const result = await cannon(`${server.base}/jobs/echo`, DURATION);
    const sample: Sample = { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
    if (variant === 'plugin') {
      const completed = (await metric(server.base, 'scalable_api_jobs_completed_total')) - completedBefore;
      sample.completedPerSec = completed / ((performance.now() - started) / 1000);
    }
    return sample;
  } finally {
    await stopBenchServer(server);
  }
}

interface MetricsSample {
  rps: number;
  cpuUsPerRequest: number;
  scrapeMs: number;
}

async function metricsRun(variant: 'plugin' | 'plugin-no-metrics'): Promise<MetricsSample> {
  const server = await startServer(variant);
  try {
    await cannon(`${server.base}/jobs/echo`, 2);
    const cpuBefore = cpuSeconds(server.child.pid);
    const result = await cannon(`${server.base}/jobs/echo`, DURATION);
    const cpu = cpuSeconds(server.child.pid) - cpuBefore;
    let scrapeMs = NaN;
    if (variant === 'plugin') {
      const started = performance.now();
      await (await fetch(`${server.base}/metrics`)).text();
      scrapeMs = performance.now() - started;
    }
    return { rps: result.requests.average, cpuUsPerRequest: (cpu / result.requests.total) * 1e6, scrapeMs };
  } finally {
    await stopBenchServer(server);
  }
}

async function metricsCost(): Promise<void> {
  const variants = ['plugin', 'plugin-no-metrics'] as const;
  const samples: Record<string, MetricsSample[]> = { plugin: [], 'plugin-no-metrics': [] };
  for (let run = 1; run <= RUNS; run++) {
    for (const variant of run % 2 === 1 ? variants : [...variants].reverse()) {
      const sample = await metricsRun(variant);
      samples[variant]!.push(sample);
      console.log(
        `  run ${run} ${variant.padEnd(17)} ${sample.rps.toFixed(0).padStart(6)} req/s  ${sample.cpuUsPerRequest.toFixed(1)} µs CPU/request` +
          (Number.isNaN(sample.scrapeMs) ? '' : `  scrape ${sample.scrapeMs.toFixed(1)} ms`),
      );
    }
  }
  const med = (variant: string, key: keyof MetricsSample) => median(samples[variant]!.map((s) => s[key]));
  console.log(`
/metrics cost, median of ${RUNS} (${DURATION} s each, ${CONNECTIONS} connections):`);
  console.log('| variant | req/s | µs CPU per request |');
  console.log('|---|---:|---:|');
  for (const variant of variants) console.log(`| ${variant} | ${med(variant, 'rps').toFixed(0)} | ${med(variant, 'cpuUsPerRequest').toFixed(1)} |`);
  console.log(
    `
CPU per request with / without metrics = ${(med('plugin', 'cpuUsPerRequest') / med('plugin-no-metrics', 'cpuUsPerRequest')).toFixed(3)}   ` +
      `req/s with / without = ${(med('plugin', 'rps') / med('plugin-no-metrics', 'rps')).toFixed(3)}   one scrape under load: ${med('plugin', 'scrapeMs').toFixed(1)} ms`,
  );
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function throughput(): Promise<void> {
  const variants = ['bare', 'core', 'plugin'] as const;
  const samples: Record<string, Sample[]> = { bare: [], core: [], plugin: [] };
  for (let run = 1; run <= RUNS; run++) {
    for (const variant of variants) {
      const sample = await throughputRun(variant);
      samples[variant]!.push(sample);
      console.log(
        `  run ${run} ${variant.padEnd(6)} ${sample.rps.toFixed(0).padStart(6)} req/s  p50 ${sample.p50} ms  p99 ${sample.p99} ms  non-2xx ${sample.non2xx}` +
          (sample.completedPerSec !== undefined ? `  completed ${sample.completedPerSec.toFixed(0)} jobs/s` : ''),
      );
    }
  }
  const med = (variant: string, key: keyof Sample) => median(samples[variant]!.map((s) => s[key] as number));
  console.log(`\nthroughput, median of ${RUNS} (${DURATION} s each, ${CONNECTIONS} connections):`);
  console.log('| variant | req/s | p50 ms | p99 ms |');
  console.log('|---|---:|---:|---:|');
  for (const variant of variants) console.log(`| ${variant} | ${med(variant, 'rps').toFixed(0)} | ${med(variant, 'p50')} | ${med(variant, 'p99')} |`);
  const ratio = med('plugin', 'rps') / med('bare', 'rps');
  console.log(
    `\nplugin / bare = ${(ratio * 100).toFixed(1)}%   core / bare = ${((med('core', 'rps') / med('bare', 'rps')) * 100).toFixed(1)}%   plugin / core = ${((med('plugin', 'rps') / med('core', 'rps')) * 100).toFixed(1)}%`,
  );
  const completed = median(samples['plugin']!.map((s) => s.completedPerSec ?? 0));
  console.log(`plugin end to end: ${completed.toFixed(0)} jobs/s completed while accepting = ${((completed * 60) / 1e6).toFixed(2)} M jobs/min`);
}

console.log(`HTTP intake benchmark — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${os.platform()}`);
const only = process.argv[2];
if (only === undefined || only === 'throughput') await throughput();
if (only === undefined || only === 'metrics') await metricsCost();
if (only === undefined || only === 'overload') await overload(DURATION, (env) => startServer('overload', env));
