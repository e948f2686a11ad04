/**
 * Sharding: the durable mode with the store split over 1, 2 and 4 independent Redis servers,
 * alone and over HTTP, with fastify + BullMQ in the same run.
 *
 *   store      the store alone (bench/redis-scale-store.ts): enqueue, claim and settle in batches
 *              of 50, after one unmeasured pass of 10,000 jobs per variant (JIT warm-up); Redis
 *              CPU per job in total and per server, Node CPU, FCALL round trips
 *
 *   variants   bare         fastify alone, answering 202 and queueing nothing: the HTTP cost both
 *                            sides pay, which bounds the ratio to BullMQ (printed after the tables)
 *              bullmq       fastify + BullMQ the obvious way (bench/redis-scale-server.ts), one Redis
 *              1 plain      the quickstart with one REDIS_URL: the single-shard store
 *              1 shard      the quickstart with REDIS_SHARDS=1: the sharded store over one server
 *              2, 4 shards  the quickstart with REDIS_URL listing 2 or 4 servers, one shard each
 *   each run   a fresh server process and freshly flushed Redis servers of the bench's own (no
 *              persistence, spare loopback ports); autocannon, 100 connections, POST {"hello":
 *              "world"} to /jobs/echo: 2 s of warm-up, then the queue drains, then BENCH_DURATION
 *              s measured; the load stops and the jobs accepted meanwhile drain. Per job of that
 *              window: the server's CPU (Node µs per job), every Redis server's `INFO cpu`
 *              (Redis µs per job, and how it splits over the shards), and the load generator's.
 *              End-to-end rate = jobs accepted in the window ÷ time until the last of them completed.
 *   figures    the median of BENCH_RUNS runs (default 3) per variant, the ratio to BullMQ, and the
 *              capacity model of docs/scaling-out.md checked against what was measured.
 *
 *   node --conditions=source --import tsx bench/redis-scale.ts
 *   BENCH_BODY_BYTES=213 …   the body padded to 213 bytes, as the issue measured (default {"hello":"world"})
 *
 * Two cores run everything here (the server, every Redis, the load generator), so wall-clock
 * rates cannot grow with shards on this machine; CPU per job is what carries over to a real
 * deployment, and the model says what it buys there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { padded } from './bench-input.js';
import { startBenchRedis, type BenchRedis } from './bench-redis.js';
import { storeRun, storeVariants, type StoreSample } from './redis-scale-store.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const DURATION = Number(process.env['BENCH_DURATION'] ?? 10);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 100);
const DRAIN_MS = 120_000;
const STORE_JOBS = Number(process.env['BENCH_STORE_JOBS'] ?? 20_000);
const STORE_BATCH = 50;
const STORE_WARM_JOBS = 10_000;
const serverScript = fileURLToPath(new URL('./redis-scale-server.ts', import.meta.url));
// BENCH_BODY_BYTES pads the body to that many bytes (the measurement used 213): an input
// longer than Redis' hash-max-listpack-value (64) turns a job's hash, ours and BullMQ's, into a
// hash table.
const body = JSON.stringify(padded({ hello: 'world' }, Number(process.env['BENCH_BODY_BYTES'] ?? 0)));

interface Variant {
  name: string;
  side: 'ours' | 'bullmq' | 'bare';
  servers: number;
  env: (urls: string[]) => Record<string, string>;
}

const variants: Variant[] = [
  { name: 'fastify alone (no queue)', side: 'bare', servers: 0, env: () => ({}) },
  { name: 'fastify + BullMQ', side: 'bullmq', servers: 1, env: (urls) => ({ REDIS_URL: urls[0]! }) },
  { name: '1 shard (plain store)', side: 'ours', servers: 1, env: (urls) => ({ REDIS_URL: urls[0]! }) },
  { name: '1 shard (sharded store)', side: 'ours', servers: 1, env: (urls) => ({ REDIS_URL: urls[0]!, REDIS_SHARDS: '1' }) },
  { name: '2 shards', side: 'ours', servers: 2, env: (urls) => ({ REDIS_URL: urls.slice(0, 2).join(',') }) },
  { name: '4 shards', side: 'ours', servers: 4, env: (urls) => ({ REDIS_URL: urls.slice(0, 4).join(',') }) },
];

interface Sample {
  accepted: number;
  /** Requests per second during the window (autocannon). */
  rps: number;
  p99: number;
  non2xx: number;
  /** Jobs accepted in the window per second until the last of them completed. */
  endToEnd: number;
  nodeUs: number;
  redisUs: number;
  /** Redis µs per job on each server. */
  perServerUs: number[];
  loadUs: number;
  /** Per job, summed over the servers: calls and µs inside Redis of each command (`INFO commandstats`). */
  commands: Map<string, { calls: number; usec: number }>;
}

interface Server {
  child: ChildProcess;
  base: string;
}

async function startServer(variant: Variant, urls: string[]): Promise<Server> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', serverScript, variant.side], {
    env: { ...process.env, ...variant.env(urls) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${variant.name} did not start`)), 60_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const m = /READY (\d+)/.exec(chunk);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`${variant.name} exited with ${code}`)));
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function benchStats(base: string): Promise<{ cpuUs: number; accepted: number; completed: number }> {
  return (await (await fetch(`${base}/bench-stats`)).json()) as { cpuUs: number; accepted: number; completed: number };
}

/** Waits until every accepted job has completed; resolves with the stats at that moment. */
async function drained(base: string): Promise<{ cpuUs: number; accepted: number; completed: number; at: number }> {
  const deadline = Date.now() + DRAIN_MS;
  for (;;) {
    const stats = await benchStats(base);
    if (stats.completed >= stats.accepted) return { ...stats, at: performance.now() };
    if (Date.now() > deadline) throw new Error(`jobs did not drain: ${JSON.stringify(stats)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function cannon(url: string, duration: number) {
  return autocannon({ url, method: 'POST', connections: CONNECTIONS, duration, headers: { 'content-type': 'application/json' }, body });
}

async function run(variant: Variant, redis: BenchRedis[]): Promise<Sample> {
  const used = redis.slice(0, variant.servers);
  await Promise.all(used.map((r) => r.flush()));
  const server = await startServer(
    variant,
    used.map((r) => r.url),
  );
  try {
    await cannon(`${server.base}/jobs/echo`, 2);
    const before = await drained(server.base);
    const redis0 = await Promise.all(used.map((r) => r.cpuUs()));
    const stats0 = await Promise.all(used.map((r) => r.commandStats()));
    const load0 = process.cpuUsage();
    const result = await cannon(`${server.base}/jobs/echo`, DURATION);
    const load = process.cpuUsage(load0);
    const after = await drained(server.base);
    const redis1 = await Promise.all(used.map((r) => r.cpuUs()));
    const stats1 = await Promise.all(used.map((r) => r.commandStats()));
    const jobs = after.completed - before.completed;
    const perServerUs = redis1.map((us, i) => (us - redis0[i]!) / jobs);
    const commands = new Map<string, { calls: number; usec: number }>();
    stats1.forEach((stats, i) => {
      for (const [name, { calls, usec }] of stats) {
        const before = stats0[i]!.get(name) ?? { calls: 0, usec: 0 };
        const sum = commands.get(name) ?? { calls: 0, usec: 0 };
        commands.set(name, { calls: sum.calls + (calls - before.calls) / jobs, usec: sum.usec + (usec - before.usec) / jobs });
      }
    });
    return {
      accepted: jobs,
      rps: result.requests.average,
      p99: result.latency.p99,
      non2xx: result.non2xx,
      endToEnd: jobs / ((after.at - before.at) / 1_000),
      nodeUs: (after.cpuUs - before.cpuUs) / jobs,
      redisUs: perServerUs.reduce((a, b) => a + b, 0),
      perServerUs,
      loadUs: (load.user + load.system) / jobs,
      commands,
    };
  } finally {
    await stopServer(server);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const redis = await Promise.all(Array.from({ length: 4 }, () => startBenchRedis()));
const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
const storeSamples = new Map<string, StoreSample[]>(storeVariants.map((v) => [v.name, []]));
console.log(
  `redis-scale: ${RUNS} runs × ${variants.length} variants, ${DURATION} s at ${CONNECTIONS} connections; ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}, load ${os.loadavg()[0]!.toFixed(1)}`,
);
try {
  // One unmeasured pass first: a variant's first loop runs its code cold (up to 2x the CPU per
  // job of a warm one), and the variants after the first would otherwise start warmer.
  for (const variant of storeVariants) await storeRun(variant.make, redis.slice(0, variant.servers), STORE_WARM_JOBS, STORE_BATCH);
  for (let r = 1; r <= RUNS; r++) {
    for (const variant of storeVariants) {
      const sample = await storeRun(variant.make, redis.slice(0, variant.servers), STORE_JOBS, STORE_BATCH);
      storeSamples.get(variant.name)!.push(sample);
      console.log(
        `  run ${r} store ${variant.name.padEnd(24)} Redis ${sample.redisUs.toFixed(1)} µs/job [${sample.perServerUs.map((u) => u.toFixed(1)).join(' + ')}]  Node ${sample.nodeUs.toFixed(1)} µs/job  FCALL ${sample.fcallsPerJob.toFixed(3)}/job`,
      );
    }
  }
  for (let r = 1; r <= RUNS; r++) {
    for (const variant of variants) {
      const sample = await run(variant, redis);
      samples.get(variant.name)!.push(sample);
      console.log(
        `  run ${r} ${variant.name.padEnd(24)} ${sample.endToEnd.toFixed(0).padStart(6)} jobs/s end to end (${sample.rps.toFixed(0)} req/s, p99 ${sample.p99} ms, non-2xx ${sample.non2xx})` +
          `  Node ${sample.nodeUs.toFixed(1)} µs/job  Redis ${sample.redisUs.toFixed(1)} µs/job [${sample.perServerUs.map((u) => u.toFixed(1)).join(' + ')}]  load generator ${sample.loadUs.toFixed(1)} µs/job`,
      );
    }
  }
} finally {
  await Promise.all(redis.map((r) => r.stop()));
}

const storeMed = (name: string, pick: (s: StoreSample) => number) => median(storeSamples.get(name)!.map(pick));
console.log(
  `\nthe store alone, median of ${RUNS} runs (${STORE_JOBS} jobs each: enqueue ${STORE_BATCH}, claim ${STORE_BATCH}, settle them; Redis servers without persistence):\n`,
);
console.log('| store | Redis µs/job | per server | busiest server µs/job | Node µs/job | FCALL per job |');
console.log('|---|---:|---|---:|---:|---:|');
for (const variant of storeVariants) {
  const split = Array.from({ length: variant.servers }, (_, i) => storeMed(variant.name, (s) => s.perServerUs[i]!));
  console.log(
    `| ${variant.name} | ${storeMed(variant.name, (s) => s.redisUs).toFixed(1)} | ${split.map((u) => u.toFixed(1)).join(' + ')} | ${Math.max(...split).toFixed(1)} | ${storeMed(variant.name, (s) => s.nodeUs).toFixed(1)} | ${storeMed(variant.name, (s) => s.fcallsPerJob).toFixed(3)} |`,
  );
}

const med = (name: string, pick: (s: Sample) => number) => median(samples.get(name)!.map(pick));
const bull = med('fastify + BullMQ', (s) => s.endToEnd);
console.log(
  `\nmedian of ${RUNS} runs (${DURATION} s, ${CONNECTIONS} connections, one Node process with 64 workers, Redis servers without persistence):\n`,
);
console.log('| variant | jobs/s end to end | jobs/min | / BullMQ | Node µs/job | Redis µs/job | Redis µs/job per server | load generator µs/job |');
console.log('|---|---:|---:|---:|---:|---:|---|---:|');
for (const variant of variants) {
  const rate = med(variant.name, (s) => s.endToEnd);
  const split = Array.from({ length: variant.servers }, (_, i) => med(variant.name, (s) => s.perServerUs[i]!).toFixed(1)).join(' + ');
  console.log(
    `| ${variant.name} | ${rate.toFixed(0)} | ${((rate * 60) / 1e6).toFixed(2)} M | ${(rate / bull).toFixed(2)}x | ${med(variant.name, (s) => s.nodeUs).toFixed(1)} | ${med(variant.name, (s) => s.redisUs).toFixed(1)} | ${split} | ${med(variant.name, (s) => s.loadUs).toFixed(1)} |`,
  );
}

// How the work reaches Redis, per job, from the last run of each variant (INFO commandstats):
// the round trips that carry it (FCALL for ours, EVALSHA for BullMQ; the commands a function or
// script runs inside are counted again under their own names, so they are left out) and the
// other top-level commands.
console.log('\nRedis calls per job (last run of each variant; top-level commands only):\n');
const topLevel = ['fcall', 'evalsha', 'hgetall'];
for (const variant of variants) {
  const last = samples.get(variant.name)!.at(-1)!;
  const parts = topLevel.flatMap((name) => {
    const c = last.commands.get(name);
    return c && c.calls >= 0.001 ? [`${name} ${c.calls.toFixed(3)}`] : [];
  });
  console.log(`  ${variant.name.padEnd(24)} ${parts.join(', ')}`);
}

// The capacity model (docs/scaling-out.md): on this machine every process shares the same cores,
// so the rate it predicts is cores ÷ the CPU one job costs everywhere (server, Redis, load
// generator). Deployed, each term gets cores of its own: min(shard cores ÷ Redis µs/job, node
// cores ÷ Node µs/job).
const cores = os.cpus().length;
console.log(`\ncapacity model on this ${cores}-core machine: predicted jobs/s = cores × 10⁶ ÷ (Node + Redis + load generator µs/job)\n`);
// On a machine others share, a run gets fewer cores than the machine has: "cores used" is the
// CPU the run's processes got per second (measured rate × CPU per job). Deployed, each process
// has cores of its own, and the two bounds of the model are what one core of each buys.
console.log(
  '| variant | CPU per job, all processes (µs) | predicted on 2 free cores | measured | cores used | Redis bound, one core per shard (jobs/s) | Node bound, per node core (jobs/s) |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const variant of variants.filter((v) => v.side === 'ours')) {
  const perJob = med(variant.name, (s) => s.nodeUs + s.redisUs + s.loadUs);
  const measured = med(variant.name, (s) => s.endToEnd);
  const used = med(variant.name, (s) => (s.endToEnd * (s.nodeUs + s.redisUs + s.loadUs)) / 1e6);
  const busiest = med(variant.name, (s) => Math.max(...s.perServerUs));
  console.log(
    `| ${variant.name} | ${perJob.toFixed(0)} | ${((cores * 1e6) / perJob).toFixed(0)} | ${measured.toFixed(0)} | ${used.toFixed(2)} | ${(1e6 / busiest).toFixed(0)} | ${(1e6 / med(variant.name, (s) => s.nodeUs)).toFixed(0)} |`,
  );
}

// What the ratio to BullMQ can reach over HTTP on this machine: every process shares the cores,
// so the ratio of rates is at most the ratio of CPU per job. Fastify's own work and the load
// generator's are the same on both sides (the 'fastify alone' variant measures them); the rest of
// ours is Redis and the job system's Node work. Even with that Node work at zero, ours costs
// fastify alone + load generator + our Redis per job.
const total = (name: string) => med(name, (s) => s.nodeUs + s.redisUs + s.loadUs);
const fixed = total('fastify alone (no queue)');
const bullTotal = total('fastify + BullMQ');
console.log(
  `\nbound of the ratio over HTTP (CPU per job, all processes): BullMQ ${bullTotal.toFixed(0)} µs; fastify alone + load generator ${fixed.toFixed(0)} µs\n`,
);
console.log('| variant | CPU per job (µs) | ratio by CPU | ratio with our Node work at zero (fixed + Redis) | CPU per job needed for 3x |');
console.log('|---|---:|---:|---:|---:|');
for (const variant of variants.filter((v) => v.side === 'ours')) {
  const redisUs = med(variant.name, (s) => s.redisUs);
  console.log(
    `| ${variant.name} | ${total(variant.name).toFixed(0)} | ${(bullTotal / total(variant.name)).toFixed(2)}x | ${(bullTotal / (fixed + redisUs)).toFixed(2)}x | ${(bullTotal / 3).toFixed(0)} |`,
  );
}
