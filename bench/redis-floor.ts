/**
 * What the store's function library costs Redis per job above the floor: the least a durable
 * job queue built on Redis functions does per job (bench/redis-floor/floor.lua: a job hash written
 * at enqueue, read and written at claim and settle, a ready-list entry, a lease, retention, the
 * queue bound and counts, one events message per call — and nothing else). Both run the same
 * loop under callgrind (callgrind-redis.ts): enqueue BATCH jobs, claim them, settle them completed,
 * after a warm-up that fills retention (RETAIN finished jobs, so each job also leaves), in
 * instructions per job, exact however busy the machine is. The floor is a bound to measure
 * against, not a design: what it leaves out (idempotency, priorities, trees, flow control,
 * listing, argument checks, fencing beyond the token) is what the gap buys, less what is waste.
 *
 *   node --conditions=source --import tsx bench/redis-floor.ts     (needs valgrind)
 *
 * BENCH_JOBS (2,000), BENCH_BATCH (50), BENCH_RETAIN (1,000), BENCH_INPUT_BYTES (bench-input.ts;
 * the issue's 213, say), and callgrind-redis.ts' settings.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { newJobId } from '@scalable-api/core';
import { benchInput, benchOutput } from './bench-input.js';
import { traced, withTracedStore } from './callgrind-redis.js';
import { storeLoop } from './store-loop.js';

const JOBS = Number(process.env['BENCH_JOBS'] ?? 2_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 50);
const RETAIN = Number(process.env['BENCH_RETAIN'] ?? 1_000);
const floorLibrary = readFileSync(new URL('./redis-floor/floor.lua', import.meta.url), 'utf8');

/** The floor's loop: the same batches, inputs and outputs as the store's (store-loop.ts). */
async function floorLoop(client: Redis, jobs: number): Promise<number> {
  const input = JSON.stringify(benchInput);
  const output = JSON.stringify(benchOutput);
  let done = 0;
  while (done < jobs) {
    const now = () => String(Date.now());
    const enqueue = Array.from({ length: BATCH }, () => [newJobId(), 'echo', input]).flat();
    await client.fcall('floor_enqueue', 1, '{floor}:', now(), '1000000', ...enqueue);
    const claimed = (await client.fcall('floor_claim', 1, '{floor}:', now(), 'bench', String(BATCH), '60000')) as string[];
    const settle: string[] = [];
    for (let i = 0; i < claimed.length; i += 4) settle.push(claimed[i]!, claimed[i + 1]!, output);
    await client.fcall('floor_settle', 1, '{floor}:', now(), String(RETAIN), ...settle);
    done += claimed.length / 4;
  }
  return done;
}

async function measureFloor(): Promise<number> {
  const redis = await traced();
  const client = new Redis(redis.url);
  try {
    await client.function('LOAD', floorLibrary);
    await floorLoop(client, RETAIN + 2 * BATCH);
    redis.instructions();
    const done = await floorLoop(client, JOBS);
    return redis.instructions() / done;
  } finally {
    client.disconnect();
    await redis.stop();
  }
}

function measureStore(): Promise<number> {
  return withTracedStore(RETAIN, async (redis, store) => {
    await storeLoop(store, RETAIN + 2 * BATCH, BATCH);
    redis.instructions();
    const done = await storeLoop(store, JOBS, BATCH);
    return redis.instructions() / done;
  });
}

const k = (n: number) => `${Math.round(n / 1_000).toLocaleString('en')}k`;
const floor = await measureFloor();
const store = await measureStore();
console.log(
  `redis-server instructions per job (callgrind), ${JOBS.toLocaleString('en')} jobs in batches of ${BATCH}, retention ${RETAIN.toLocaleString('en')}, input ${JSON.stringify(benchInput).length} bytes`,
);
console.log(`  the floor (bench/redis-floor/floor.lua)   ${k(floor).padStart(6)}`);
console.log(`  the store's library                       ${k(store).padStart(6)}   ${(store / floor).toFixed(2)}x the floor`);
