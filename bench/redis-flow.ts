/**
 * What flow control costs Redis per job: the store's enqueue → claim → settle loop (as
 * bench/redis-profile.ts runs it, batches of BATCH) against a fresh redis-server per run, `INFO
 * cpu` before and after, in four variants run in turn:
 *
 *   base      the loop without flow keys, on the store found at BENCH_BASE_STORE (the previous
 *             version's packages/redis/src/index.ts, e.g. `git archive main packages/redis`);
 *             left out when unset
 *   plain     the same loop on this version: no flow keys (one tenant, or none)
 *   tenants   every job keyed by one of TENANTS tenants: claims take turns per key (fair.lua)
 *   limited   tenants, and a rate limit and a per-key concurrency limit that never bind
 *
 *   BENCH_BASE_STORE=/tmp/base/packages/redis/src/index.ts node --conditions=source --import tsx bench/redis-flow.ts
 */
import { newJobId, type ClaimRequest, type JobStore } from '@scalable-api/core';
import { startBenchRedis, type BenchRedis } from './bench-redis.js';

const JOBS = Number(process.env['BENCH_STORE_JOBS'] ?? 20_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 50);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const TENANTS = Number(process.env['BENCH_TENANTS'] ?? 10);
const BASE = process.env['BENCH_BASE_STORE'];

type CreateStore = (options: { url: string; prefix: string }) => JobStore;
interface Variant {
  name: string;
  module: string;
  key: ((i: number) => string) | undefined;
  flow: ClaimRequest['flow'];
}

const variants: Variant[] = [
  ...(BASE ? [{ name: 'base', module: BASE, key: undefined, flow: undefined }] : []),
  { name: 'plain', module: '@scalable-api/redis', key: undefined, flow: undefined },
  { name: 'tenants', module: '@scalable-api/redis', key: (i: number) => `tenant-${i % TENANTS}`, flow: undefined },
  {
    name: 'limited',
    module: '@scalable-api/redis',
    key: (i: number) => `tenant-${i % TENANTS}`,
    flow: new Map([['echo', { rate: { max: 1_000_000, perMs: 1_000, perKey: false }, concurrencyPerKey: 1_000_000 }]]),
  },
];

async function loop(redis: BenchRedis, variant: Variant): Promise<number> {
  const { createRedisStore } = (await import(variant.module)) as { createRedisStore: CreateStore };
  const store = createRedisStore({ url: redis.url, prefix: 'bench' });
  try {
    store.subscribe(() => {});
    await store.counts();
    let done = 0;
    let n = 0;
    while (done < JOBS) {
      const jobs = Array.from({ length: BATCH }, () => {
        const key = variant.key?.(n++);
        return { id: newJobId(), name: 'echo', input: { hello: 'world' }, priority: 0, ...(key === undefined ? {} : { key }) };
      });
      await store.enqueue(jobs, { limit: 1_000_000 });
      await new Promise((resolve) => setImmediate(resolve));
      const request: ClaimRequest = { owner: 'bench', max: BATCH, leaseMs: 60_000 };
      if (variant.flow) request.flow = variant.flow;
      const { jobs: claimed } = await store.claim(request);
      await store.settle(claimed.map((j) => ({ ...j, outcome: 'completed' as const, output: { hello: 'world' } })));
      done += claimed.length;
    }
    return done;
  } finally {
    await store.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results = new Map<string, number[]>();
for (let run = 0; run < RUNS; run++) {
  for (const variant of variants) {
    const redis = await startBenchRedis();
    try {
      const before = await redis.cpuUs();
      const jobs = await loop(redis, variant);
      const us = (await redis.cpuUs()) - before;
      (results.get(variant.name) ?? results.set(variant.name, []).get(variant.name)!).push(us / jobs);
    } finally {
      await redis.stop();
    }
  }
}
const plain = median(results.get('plain')!);
console.log(`Redis CPU per job (enqueue + claim + settle, batches of ${BATCH}, ${JOBS} jobs, median of ${RUNS} runs, ${TENANTS} tenants)`);
for (const [name, xs] of results) {
  const m = median(xs);
  console.log(
    `  ${name.padEnd(8)} ${m.toFixed(1).padStart(6)} µs/job  (${(m / plain).toFixed(2)}x plain)  runs: ${xs.map((x) => x.toFixed(1)).join(', ')}`,
  );
}
