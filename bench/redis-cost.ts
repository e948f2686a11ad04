/**
 * Redis cost per job of this version of the store against another (a before/after of a change to
 * the functions), in one process, alternating, each run on a fresh redis-server of its own:
 *
 *   µs/job   `INFO cpu` (user + sys) of the server over JOBS jobs through enqueue → claim → settle
 *            in batches of BATCH, with retention at RETAIN finished roots (so most jobs also
 *            leave: what a long-running store does per job)
 *   B/job    growth of `used_memory` per waiting job: WAITING plain jobs enqueued, none claimed
 *
 * The other version is a copy of packages/redis (`git archive <commit> packages/redis | tar -x -C
 * .tmp/base`) named by BENCH_BASE_STORE; without it only this version runs.
 *
 *   BENCH_BASE_STORE=.tmp/base/packages/redis/src/index.ts node --conditions=source --import tsx bench/redis-cost.ts
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { newJobId, type JobStore } from '@scalable-api/core';
import { startBenchRedis, type BenchRedis } from './bench-redis.js';

const JOBS = Number(process.env['BENCH_STORE_JOBS'] ?? 40_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 250);
const RETAIN = Number(process.env['BENCH_RETAIN'] ?? 5_000);
const WAITING = Number(process.env['BENCH_WAITING'] ?? 20_000);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const BASE = process.env['BENCH_BASE_STORE'];
const input = { url: 'https://images.example/cat.png', width: 256 };

type CreateStore = (options: { url: string; prefix: string; retention?: { count: number } }) => JobStore;
const variants: [string, string][] = [
  ...(BASE ? [['base', pathToFileURL(resolve(BASE)).href] as [string, string]] : []),
  ['this', '@scalable-api/redis'],
];

async function cpuPerJob(redis: BenchRedis, create: CreateStore): Promise<number> {
  const store = create({ url: redis.url, prefix: 'bench', retention: { count: RETAIN } });
  try {
    store.subscribe(() => {});
    await store.counts();
    const before = await redis.cpuUs();
    let done = 0;
    while (done < JOBS) {
      const jobs = Array.from({ length: BATCH }, () => ({ id: newJobId(), name: 'echo', input, priority: 0 }));
      await store.enqueue(jobs, { limit: 1_000_000 });
      const { jobs: claimed } = await store.claim({ owner: 'bench', max: BATCH, leaseMs: 60_000 });
      await store.settle(claimed.map((j) => ({ ...j, outcome: 'completed' as const, output: { ok: true } })));
      done += claimed.length;
    }
    return ((await redis.cpuUs()) - before) / done;
  } finally {
    await store.close();
  }
}

async function bytesPerWaitingJob(redis: BenchRedis, create: CreateStore): Promise<number> {
  const admin = new Redis(redis.url);
  const store = create({ url: redis.url, prefix: 'mem' });
  try {
    await store.counts();
    const used = async () => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
    const before = await used();
    for (let offset = 0; offset < WAITING; offset += 1_000) {
      const batch = Array.from({ length: 1_000 }, () => ({ id: newJobId(), name: 'thumbnail', input, priority: 0 }));
      await store.enqueue(batch, { limit: WAITING * 2 });
    }
    return ((await used()) - before) / WAITING;
  } finally {
    await store.close();
    admin.disconnect();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpu = new Map<string, number[]>();
const mem = new Map<string, number[]>();
for (let run = 0; run < RUNS; run++) {
  for (const [name, module] of run % 2 === 0 ? variants : [...variants].reverse()) {
    const { createRedisStore } = (await import(module)) as { createRedisStore: CreateStore };
    const redis = await startBenchRedis();
    try {
      (cpu.get(name) ?? cpu.set(name, []).get(name)!).push(await cpuPerJob(redis, createRedisStore));
      await redis.flush();
      (mem.get(name) ?? mem.set(name, []).get(name)!).push(await bytesPerWaitingJob(redis, createRedisStore));
    } finally {
      await redis.stop();
    }
  }
}
console.log(
  `Redis cost per job: ${JOBS.toLocaleString('en')} jobs enqueue → claim → settle in batches of ${BATCH}, retention ${RETAIN.toLocaleString('en')}; ` +
    `memory of ${WAITING.toLocaleString('en')} waiting jobs; median of ${RUNS} runs, alternating`,
);
for (const [name] of variants) {
  const c = cpu.get(name)!;
  const m = mem.get(name)!;
  const ratio = BASE && name === 'this' ? `  (${(median(c) / median(cpu.get('base')!)).toFixed(2)}x base)` : '';
  console.log(
    `  ${name.padEnd(5)} ${median(c).toFixed(1).padStart(6)} µs/job${ratio}  ${Math.round(median(m))} B/waiting job   runs: ${c.map((x) => x.toFixed(1)).join(', ')}; ${m.map((x) => Math.round(x)).join(', ')}`,
  );
}
