/**
 * Redis memory per waiting job: 10,000 identical queued jobs through our Redis store versus
 * BullMQ's `addBulk` on the same Redis, each under its own fresh key prefix, measured as the
 * growth of `used_memory` and cleaned up afterwards. Median of 3.
 *
 *   node --conditions=source --import tsx bench/redis-memory.ts
 *   BENCH_INPUT_BYTES=213 …   the input padded to 213 bytes of JSON (default 52)
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createRedisStore } from '@scalable-api/redis';
import { benchInput } from './bench-input.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const jobs = Number(process.env.BENCH_JOBS ?? 10_000);
// BENCH_INPUT_BYTES: the input padded to that many bytes of JSON (bench-input.ts).
const input = benchInput;
const admin = new Redis(url);

async function usedMemory(): Promise<number> {
  const info = await admin.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

async function deleteKeys(pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== '0');
}

async function ours(run: number): Promise<number> {
  const prefix = `bench-mem-ours-${process.pid}-${run}`;
  const store = createRedisStore({ url, prefix });
  const before = await usedMemory();
  for (let offset = 0; offset < jobs; offset += 1_000) {
    const batch = Array.from({ length: 1_000 }, (_, i) => ({ id: `job-${offset + i}`.padEnd(21, '0'), name: 'thumbnail', input, priority: 0 }));
    await store.enqueue(batch, { limit: jobs * 2 });
  }
  const bytes = (await usedMemory()) - before;
  await store.close();
  await deleteKeys(`{${prefix}}*`);
  return bytes / jobs;
}

async function bullmq(run: number): Promise<number> {
  const prefix = `bench-mem-bull-${process.pid}-${run}`;
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue('thumbnail', { connection, prefix });
  const before = await usedMemory();
  for (let offset = 0; offset < jobs; offset += 1_000) {
    await queue.addBulk(Array.from({ length: 1_000 }, () => ({ name: 'thumbnail', data: input })));
  }
  const bytes = (await usedMemory()) - before;
  await queue.close();
  // BullMQ leaves a connection it was given open: without this the process never exits, and
  // `npm run bench` waited here until its timeout.
  connection.disconnect();
  await deleteKeys(`${prefix}:*`);
  return bytes / jobs;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const a: number[] = [];
const b: number[] = [];
for (let run = 0; run < 3; run++) {
  a.push(await ours(run));
  b.push(await bullmq(run));
}
console.log(`Redis memory per waiting job (${jobs.toLocaleString('en')} queued, input ${JSON.stringify(input).length} bytes of JSON), median of 3:`);
console.log(`  scalable-api ${Math.round(median(a))} bytes   BullMQ ${Math.round(median(b))} bytes   ratio ${(median(a) / median(b)).toFixed(2)}`);
admin.disconnect();
