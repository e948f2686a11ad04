/**
 * Redis mode against BullMQ on the same Redis, in the same run: no-op jobs, three phases.
 *
 *   enqueue   jobs added in batches of 1,000 (our `store.enqueue`, BullMQ's `addBulk`)
 *   process   a prefilled queue drained by 50 concurrent workers (our `createJobSystem` over the
 *             Redis store, a BullMQ `Worker` with concurrency 50)
 *   both      jobs submitted one call at a time (≤ 200 in flight, like an HTTP front) while 50
 *             workers run them; timed until the last completes (`system.submit`, `queue.add`)
 *
 * Every variant runs in a fresh process, each three times; the median is reported with the
 * ratio ours / BullMQ. Bounded: BENCH_JOBS jobs per variant (default 20,000), and a variant is
 * killed after 120 s. Each run uses its own key prefix and deletes it afterwards.
 *
 * Without REDIS_URL both sides run on a `redis-server` of the bench's own (spare loopback port,
 * no persistence): on a shared server its `INFO cpu` also counts everyone else's commands, which
 * made the Redis µs per job of either side mean nothing, and their traffic slows both sides.
 *
 *   node --conditions=source --import tsx bench/redis-vs-bullmq.ts
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createJobSystem, defineJob } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import { startBenchRedis } from './bench-redis.js';

/** A variant's process always gets it from `main` (the bench's own server unless REDIS_URL is set). */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CONCURRENCY = 50;
const IN_FLIGHT = 200;
const BATCH = 1_000;
const VARIANT_TIMEOUT_MS = 120_000;
const phases = ['enqueue', 'process', 'both'] as const;
const sides = ['ours', 'bullmq'] as const;
type Phase = (typeof phases)[number];
type Side = (typeof sides)[number];

const noop = defineJob({
  name: 'noop',
  async run() {
    return null;
  },
});

async function deleteKeys(pattern: string): Promise<void> {
  const client = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 5_000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
  await client.quit();
}

interface Measure {
  rate: number;
  /** CPU time per job, in µs, of this process and of the Redis server, while timed. */
  nodeCpuUs: number;
  redisCpuUs: number;
  /** Node and Redis CPU seconds per second while timed: how much of the machine the side used. */
  cores: number;
}

/**
 * Wall time gives the rate; CPU time per job (this process, and Redis from INFO) is reported
 * beside it because it stays meaningful when other work shares the machine.
 */
async function startMeter(): Promise<() => Promise<Measure>> {
  const client = new Redis(REDIS_URL);
  const redisCpu = async () => {
    const info = await client.info('cpu');
    return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  };
  const redis0 = await redisCpu();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return async () => {
    const seconds = (performance.now() - t0) / 1_000;
    const cpu = process.cpuUsage(cpu0);
    const redisSeconds = (await redisCpu()) - redis0;
    await client.quit();
    const nodeSeconds = (cpu.user + cpu.system) / 1e6;
    return {
      rate: JOBS / seconds,
      nodeCpuUs: (nodeSeconds * 1e6) / JOBS,
      redisCpuUs: (redisSeconds * 1e6) / JOBS,
      cores: (nodeSeconds + redisSeconds) / seconds,
    };
  };
}

/** Runs `count` calls of `one` with at most `limit` outstanding. */
async function pool(count: number, limit: number, one: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: limit }, lane));
}

async function ours(phase: Phase, prefix: string): Promise<Measure> {
  const store = createRedisStore({ url: REDIS_URL, prefix });
  const limit = { limit: JOBS * 2 };
  const prefill = async () => {
    for (let i = 0; i < JOBS; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, JOBS - i) }, (_, j) => ({
        id: `${prefix}-${i + j}`,
        name: 'noop',
        input: { i: i + j },
        priority: 0,
      }));
      await store.enqueue(batch, limit);
    }
  };
  try {
    if (phase === 'enqueue') {
      const stop = await startMeter();
      await prefill();
      return await stop();
    }
    if (phase === 'process') await prefill();
    let completed = 0;
    let resolveDone: () => void = () => {};
    const drained = new Promise<void>((resolve) => (resolveDone = resolve));
    store.subscribe((signal) => {
      if (signal.type === 'job.event' && signal.event.type === 'job.completed' && ++completed === JOBS) resolveDone();
    });
    await store.counts(); // the subscription is live before the first job can finish
    const system = createJobSystem({ jobs: [noop], workers: CONCURRENCY, store, queue: { limit: JOBS * 2 } });
    const stop = await startMeter();
    await system.start();
    if (phase === 'process') {
      await drained;
    } else {
      // Like BullMQ's side: submit, and count completions as the workers report them.
      await pool(JOBS, IN_FLIGHT, (i) => system.submit(noop, { i } as never));
      await drained;
    }
    const measure = await stop();
    await system.stop({ drain: true });
    return measure;
  } finally {
    await store.close();
    await deleteKeys(`{${prefix}}:*`);
  }
}

async function bullmq(phase: Phase, prefix: string): Promise<Measure> {
  const url = new URL(REDIS_URL);
  const connection = { host: url.hostname, port: Number(url.port || 6379) };
  const queue = new Queue('noop', { connection, prefix });
  let worker: Worker | undefined;
  let completed = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const startWorker = () => {
    worker = new Worker('noop', async () => null, { connection, prefix, concurrency: CONCURRENCY, removeOnComplete: { count: 10_000 } });
    worker.on('completed', () => {
      if (++completed === JOBS) resolveDone();
    });
  };
  const prefill = async () => {
    for (let i = 0; i < JOBS; i += BATCH) {
      await queue.addBulk(Array.from({ length: Math.min(BATCH, JOBS - i) }, (_, j) => ({ name: 'noop', data: { i: i + j } })));
    }
  };
  try {
    await queue.waitUntilReady();
    if (phase === 'enqueue') {
      const stop = await startMeter();
      await prefill();
      return await stop();
    }
    if (phase === 'process') await prefill();
    const stop = await startMeter();
    startWorker();
    if (phase === 'both') await pool(JOBS, IN_FLIGHT, (i) => queue.add('noop', { i }));
    await done;
    return await stop();
  } finally {
    await worker?.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    await deleteKeys(`${prefix}:*`);
  }
}

/** One variant in a fresh process, so neither side inherits the other's heap or connections. */
function runVariant(side: Side, phase: Phase, redisUrl: string): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), side, phase], {
      env: { ...process.env, REDIS_URL: redisUrl },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), VARIANT_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const match = /RESULT (\{.*\})/.exec(out);
      if (code === 0 && match) resolve(JSON.parse(match[1]!) as Measure);
      else reject(new Error(`${side} ${phase} exited with ${code}: ${out}`));
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const [side, phase] = process.argv.slice(2) as [Side | undefined, Phase | undefined];
  if (side && phase) {
    const prefix = `bench-${side}-${randomUUID().slice(0, 8)}`;
    const measure = side === 'ours' ? await ours(phase, prefix) : await bullmq(phase, prefix);
    process.stdout.write(`RESULT ${JSON.stringify(measure)}\n`);
    process.exit(0);
  }
  const own = process.env.REDIS_URL ? undefined : await startBenchRedis();
  try {
    await compare(own?.url ?? REDIS_URL, own ? 'a redis-server of its own' : 'REDIS_URL');
  } finally {
    await own?.stop();
  }
}

async function compare(redisUrl: string, whose: string): Promise<void> {
  const redisVersion =
    execFileSync('redis-cli', ['-u', redisUrl, 'info', 'server'])
      .toString()
      .match(/redis_version:(\S+)/)?.[1] ?? '?';
  console.log(
    `Redis ${redisVersion} at ${redisUrl} (${whose}); ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}); Node ${process.version}; load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.log(`${JOBS} no-op jobs per variant, ${CONCURRENCY} workers, median of ${RUNS} runs, fresh process per variant\n`);
  const results = new Map<string, Measure[]>();
  for (let run = 0; run < RUNS; run++) {
    for (const phase of phases) {
      for (const s of run % 2 === 0 ? sides : [...sides].reverse()) {
        const measure = await runVariant(s, phase, redisUrl);
        const key = `${s} ${phase}`;
        results.set(key, [...(results.get(key) ?? []), measure]);
      }
    }
  }
  const med = (list: Measure[], field: keyof Measure) => median(list.map((m) => m[field]));
  console.log(
    '| phase | ours (jobs/s) | BullMQ (jobs/s) | ours / BullMQ | CPU µs per job, Node + Redis: ours; BullMQ | BullMQ / ours, CPU per job | cores busy: ours; BullMQ | runs (ours; BullMQ) |',
  );
  console.log('|---|---:|---:|---:|---|---:|---|---|');
  for (const phase of phases) {
    const a = results.get(`ours ${phase}`)!;
    const b = results.get(`bullmq ${phase}`)!;
    const cpu = (list: Measure[]) => `${med(list, 'nodeCpuUs').toFixed(0)} + ${med(list, 'redisCpuUs').toFixed(0)}`;
    const runs = (list: Measure[]) => list.map((m) => m.rate.toFixed(0)).join(', ');
    const total = (list: Measure[]) => med(list, 'nodeCpuUs') + med(list, 'redisCpuUs');
    console.log(
      `| ${phase} | ${med(a, 'rate').toFixed(0)} | ${med(b, 'rate').toFixed(0)} | ${(med(a, 'rate') / med(b, 'rate')).toFixed(2)}x | ${cpu(a)}; ${cpu(b)} | ${(total(b) / total(a)).toFixed(2)}x | ${med(a, 'cores').toFixed(2)}; ${med(b, 'cores').toFixed(2)} | ${runs(a)}; ${runs(b)} |`,
    );
  }
}

await main();
