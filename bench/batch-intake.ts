/**
 * Batch intake: jobs per second accepted through `POST /jobs/echo/batch` (BATCH items a request)
 * against single-job `POST /jobs/echo`, the same plugin, in the same run, on the memory store and
 * (when REDIS_URL answers) the Redis store. Jobs/s is counted by the server itself
 * (`scalable_api_jobs_submitted_total` over the measured window), so a 207's refused items are
 * not counted; the workers run the echo jobs meanwhile.
 *
 *   node --conditions=source --import tsx bench/batch-intake.ts
 *   BENCH_RUNS (3), BENCH_DURATION s (10), BENCH_BATCH items (100), BENCH_CONNECTIONS (100 single, 10 batch)
 *
 * Fresh server process per variant and run, a 2 s warm-up discarded, median of the runs, ratio
 * printed. Loopback only; the load generator shares the 2-core machine. Beside the rates: the
 * share of requests answered non-2xx (503: a batch shed whole, a single submit refused; a 207 is
 * answered), and the CPU per accepted job of the server process and (Redis store) of Redis
 * (`INFO cpu`: every client's commands, so a Redis of the bench's own, REDIS_URL, for that column).
 *
 *   BENCH_STORES (memory,redis): which stores to run
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { deleteKeys, redisAnswers } from '@scalable-api/test-support/redis-admin';
import { metric, startBenchServer, stopBenchServer, type BenchServer } from './bench-server.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const DURATION = Number(process.env['BENCH_DURATION'] ?? 10);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 100);
const SINGLE_CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 100);
const BATCH_CONNECTIONS = Math.max(1, Math.round(SINGLE_CONNECTIONS / 10));
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const STORES = (process.env['BENCH_STORES'] ?? 'memory,redis').split(',');
const serverScript = fileURLToPath(new URL('./http-intake-server.ts', import.meta.url));
const single = JSON.stringify({ hello: 'world' });
const batch = JSON.stringify(Array.from({ length: BATCH }, (_, i) => ({ input: { hello: 'world', i } })));

function startServer(env: Record<string, string>): Promise<BenchServer> {
  return startBenchServer(serverScript, 'plugin', env, { startMs: 120_000 });
}

const submitted = (base: string) => metric(base, 'scalable_api_jobs_submitted_total');

function cannon(url: string, body: string, connections: number, duration: number) {
  return autocannon({ url, method: 'POST', connections, duration, headers: { 'content-type': 'application/json' }, body });
}

interface Sample {
  jobsPerSec: number;
  requestsPerSec: number;
  p99: number;
  /** Requests answered other than 2xx (503 under overload; a 207 is 2xx), of all. */
  shedShare: number;
  /** CPU µs per accepted job: the server process, and Redis (NaN on the memory store). */
  nodeUs: number;
  redisUs: number;
}

/** User + system CPU of a process in µs, from /proc (Linux; NaN elsewhere). */
function processCpuUs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return NaN;
  }
}

async function redisCpuUs(client: Redis | undefined): Promise<number> {
  if (!client) return NaN;
  const info = await client.info('cpu');
  return (Number(/used_cpu_user:(\S+)/.exec(info)?.[1]) + Number(/used_cpu_sys:(\S+)/.exec(info)?.[1])) * 1e6;
}

async function run(mode: 'single' | 'batch', store: 'memory' | 'redis'): Promise<Sample> {
  const prefix = `bench-batch-${process.pid}-${Date.now()}`;
  const env: Record<string, string> = store === 'redis' ? { REDIS_URL: redisUrl, REDIS_PREFIX: prefix } : { REDIS_PREFIX: '' };
  const server = await startServer(env);
  const redis = store === 'redis' ? new Redis(redisUrl) : undefined;
  try {
    const url = `${server.base}/jobs/echo${mode === 'batch' ? '/batch' : ''}`;
    const body = mode === 'batch' ? batch : single;
    const connections = mode === 'batch' ? BATCH_CONNECTIONS : SINGLE_CONNECTIONS;
    await cannon(url, body, connections, 2);
    const before = await submitted(server.base);
    const [nodeBefore, redisBefore] = [processCpuUs(server.child.pid!), await redisCpuUs(redis)];
    const started = performance.now();
    const result = await cannon(url, body, connections, DURATION);
    const seconds = (performance.now() - started) / 1000;
    const [nodeAfter, redisAfter] = [processCpuUs(server.child.pid!), await redisCpuUs(redis)];
    const jobs = (await submitted(server.base)) - before;
    return {
      jobsPerSec: jobs / seconds,
      requestsPerSec: result.requests.average,
      p99: result.latency.p99,
      shedShare: result.non2xx / result.requests.total,
      nodeUs: (nodeAfter - nodeBefore) / jobs,
      redisUs: (redisAfter - redisBefore) / jobs,
    };
  } finally {
    redis?.disconnect();
    await stopBenchServer(server);
    if (store === 'redis') await deletePrefix(prefix);
  }
}

async function deletePrefix(prefix: string): Promise<void> {
  const client = new Redis(redisUrl);
  try {
    await deleteKeys(client, `{${prefix}}*`);
  } finally {
    client.disconnect();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

console.log(`batch intake benchmark — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${os.platform()}`);
console.log(`single: ${SINGLE_CONNECTIONS} connections, 1 job a request; batch: ${BATCH_CONNECTIONS} connections, ${BATCH} jobs a request`);
const answers = await redisAnswers(new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null }));
const stores = (['memory', 'redis'] as const).filter((s) => STORES.includes(s) && (s === 'memory' || answers));
const rows: string[] = [];
for (const store of stores) {
  const samples: Record<'single' | 'batch', Sample[]> = { single: [], batch: [] };
  for (let i = 1; i <= RUNS; i++) {
    for (const mode of ['single', 'batch'] as const) {
      const sample = await run(mode, store);
      samples[mode].push(sample);
      console.log(
        `  run ${i} ${store} ${mode.padEnd(6)} ${sample.jobsPerSec.toFixed(0).padStart(7)} jobs/s  ${sample.requestsPerSec.toFixed(0)} req/s` +
          `  ${(100 * sample.shedShare).toFixed(0)}% 503  p99 ${sample.p99} ms  CPU per job: node ${sample.nodeUs.toFixed(1)} µs, redis ${sample.redisUs.toFixed(1)} µs`,
      );
    }
  }
  const med = (mode: 'single' | 'batch', key: keyof Sample) => median(samples[mode].map((s) => s[key]));
  const ratio = med('batch', 'jobsPerSec') / med('single', 'jobsPerSec');
  const us = (mode: 'single' | 'batch') => `${med(mode, 'nodeUs').toFixed(0)} + ${med(mode, 'redisUs').toFixed(0)}`;
  rows.push(
    `| ${store} | ${med('single', 'jobsPerSec').toFixed(0)} | ${med('batch', 'jobsPerSec').toFixed(0)} | ${ratio.toFixed(2)}x | ${med('single', 'p99')} | ${med('batch', 'p99')} | ${(100 * med('batch', 'shedShare')).toFixed(0)}% | ${us('single')} | ${us('batch')} |`,
  );
}
console.log(`\nmedian of ${RUNS} (${DURATION} s each):`);
console.log(
  '| store | single jobs/s | batch jobs/s | batch / single | single p99 ms | batch p99 ms (a request) | batch requests 503 | single µs/job node + redis | batch µs/job node + redis |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const row of rows) console.log(row);
