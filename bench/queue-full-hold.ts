/**
 * The queue-full hint's hold (`limits.queueFullHoldMs`) against no hint (0: the store judges
 * every submit), in the same run: jobs accepted a second (counted by the server,
 * `scalable_api_jobs_submitted_total`) while the load keeps the queue at its bound. Not in `npm
 * run bench`: it measures a regime (how fast the bound drains against the hold), chosen with:
 *
 *   BENCH_HOLDS (100,0)        holds in ms, each a fresh server per run
 *   BENCH_LIMIT (1000)         the queue bound
 *   BENCH_WORKERS (64)         workers
 *   BENCH_JOB (echo)           the job: echo (instant) or sleep (with BENCH_BODY '{"ms":20}')
 *   BENCH_BATCH (0)            items a request to {job}/batch; 0: single submits of BENCH_BODY
 *   BENCH_CONNECTIONS (100)    autocannon connections
 *   BENCH_RUNS (2), BENCH_DURATION s (10); REDIS_URL: the Redis store (a server of the bench's
 *   own, its keys under a fresh prefix; unset: the memory store)
 *
 *   REDIS_URL=redis://127.0.0.1:7431 BENCH_LIMIT=100 BENCH_BATCH=100 BENCH_CONNECTIONS=10 \
 *     node --conditions=source --import tsx bench/queue-full-hold.ts
 *
 * Loopback only; a 2 s warm-up; the load generator shares the machine.
 */
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { deleteKeys } from '@scalable-api/test-support/redis-admin';
import { metric, startBenchServer, stopBenchServer } from './bench-server.js';

const script = fileURLToPath(new URL('./http-intake-server.ts', import.meta.url));
const env = process.env;
const holds = (env['BENCH_HOLDS'] ?? '100,0').split(',');
const runs = Number(env['BENCH_RUNS'] ?? 2);
const duration = Number(env['BENCH_DURATION'] ?? 10);
const batch = Number(env['BENCH_BATCH'] ?? 0);
const job = env['BENCH_JOB'] ?? 'echo';
const single = env['BENCH_BODY'] ?? '{"hello":"world"}';
const body = batch > 0 ? JSON.stringify(Array.from({ length: batch }, (_, i) => ({ input: { ...JSON.parse(single), i } }))) : single;
const redisUrl = env['REDIS_URL'] ?? '';

console.log(
  `queue-full hold: ${job}${batch > 0 ? ` batches of ${batch}` : ' single submits'}, bound ${env['BENCH_LIMIT'] ?? 1000}, ` +
    `${env['BENCH_WORKERS'] ?? 64} workers, ${env['BENCH_CONNECTIONS'] ?? 100} connections, ${redisUrl ? 'Redis' : 'memory'} store`,
);
for (let run = 1; run <= runs; run++) {
  for (const hold of holds) {
    const prefix = `bench-hold-${process.pid}-${Date.now()}`;
    const server = await startBenchServer(
      script,
      'overload',
      {
        WORKERS: env['BENCH_WORKERS'] ?? '64',
        QUEUE_LIMIT: env['BENCH_LIMIT'] ?? '1000',
        QUEUE_FULL_HOLD_MS: hold,
        ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_PREFIX: prefix } : {}),
      },
      { startMs: 120_000 },
    );
    try {
      const load = (seconds: number) =>
        autocannon({
          url: `${server.base}/jobs/${job}${batch > 0 ? '/batch' : ''}`,
          method: 'POST',
          connections: Number(env['BENCH_CONNECTIONS'] ?? 100),
          duration: seconds,
          headers: { 'content-type': 'application/json' },
          body,
        });
      await load(2);
      const before = await metric(server.base, 'scalable_api_jobs_submitted_total');
      const started = performance.now();
      const result = await load(duration);
      const seconds = (performance.now() - started) / 1000;
      const accepted = ((await metric(server.base, 'scalable_api_jobs_submitted_total')) - before) / seconds;
      console.log(
        `  run ${run} hold ${hold.padStart(3)} ms: ${accepted.toFixed(0).padStart(6)} jobs/s accepted, ${result.requests.average.toFixed(0)} req/s, ` +
          `${((100 * result.non2xx) / result.requests.total).toFixed(0)}% answered 503`,
      );
    } finally {
      await stopBenchServer(server);
      if (redisUrl) {
        const client = new Redis(redisUrl);
        await deleteKeys(client, `{${prefix}}*`);
        client.disconnect();
      }
    }
  }
}
