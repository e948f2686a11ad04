/**
 * One server of the HTTP intake benchmark, run in a fresh process per variant by
 * bench/http-intake.ts (never on its own). Prints `READY <port>` once it listens and keeps a
 * memory sample log on stderr when SAMPLE_MS is set.
 *
 *   bare      a bare fastify 5 POST route that parses JSON and answers 202 (the baseline)
 *   core      a bare fastify route that calls `system.submitByName('echo', body)`: the job
 *             system's own cost, without the plugin (separates the two in the results)
 *   plugin    the jobs plugin in front of a job system running the quickstart's `echo` job
 *   plugin-no-metrics  the same with `metrics: false` (nothing counted, no /metrics): the peer
 *             that prices /metrics
 *   overload  the jobs plugin in front of a deliberately small capacity: WORKERS workers running
 *             `sleep` jobs, with a queue bound of QUEUE_LIMIT
 *   plugin and overload use the Redis store at REDIS_URL under REDIS_PREFIX when both are set
 *   (bench/batch-intake.ts; the caller deletes the prefix's keys), and QUEUE_FULL_HOLD_MS as the
 *   plugin's `limits.queueFullHoldMs` when set (bench/queue-full-hold.ts)
 *
 * The job systems keep the quickstart's defaults (retention of 10,000 finished jobs; an earlier
 * version kept 200,000, which made the benchmark mostly about the garbage collector).
 */
import { createFsBlobStore, createJobSystem } from '@scalable-api/core';
import { jobsPlugin } from '@scalable-api/http-adapter';
import { createRedisStore } from '@scalable-api/redis';
import Fastify from 'fastify';
import { echo, sleep } from '../examples/quickstart/src/demo-jobs.js';

const variant = process.argv[2];
const workers = Number(process.env['WORKERS'] ?? 64);
const queueLimit = Number(process.env['QUEUE_LIMIT'] ?? 100_000);

const app = Fastify({ logger: false, requestTimeout: 60_000, connectionTimeout: 70_000 });
let stop = async () => {};

if (variant === 'bare') {
  let n = 0;
  app.post('/jobs/echo', async (_request, reply) => reply.code(202).send({ id: String(++n), status: 'queued', durable: false }));
} else if (variant === 'core') {
  const system = createJobSystem({ jobs: [echo], workers, queue: { limit: queueLimit } });
  await system.start();
  app.post('/jobs/echo', async (request, reply) => {
    const handle = await system.submitByName('echo', request.body);
    return reply.code(202).send({ id: handle.id, status: handle.status, durable: false });
  });
  stop = () => system.stop({ drain: false, timeoutMs: 1_000 });
} else if (variant === 'plugin' || variant === 'plugin-no-metrics' || variant === 'overload') {
  const blobs = await createFsBlobStore();
  const redis = process.env['REDIS_URL'] && process.env['REDIS_PREFIX'];
  const store = redis ? createRedisStore({ url: process.env['REDIS_URL']!, prefix: process.env['REDIS_PREFIX']! }) : undefined;
  const system = createJobSystem({ jobs: [echo, sleep], workers, queue: { limit: queueLimit }, ...(store ? { store } : {}) });
  await system.start();
  const hold = process.env['QUEUE_FULL_HOLD_MS'];
  const limits = hold === undefined ? {} : { limits: { queueFullHoldMs: Number(hold) } };
  await app.register(jobsPlugin, { system, blobs, prefix: '/jobs', ...limits, ...(variant === 'plugin-no-metrics' ? { metrics: false } : {}) });
  stop = async () => {
    await system.stop({ drain: false, timeoutMs: 1_000 });
    await store?.close();
    await blobs.close();
  };
} else {
  throw new Error(`unknown variant ${variant}`);
}

await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);

const sampleMs = Number(process.env['SAMPLE_MS'] ?? 0);
if (sampleMs > 0) {
  setInterval(() => {
    const { rss, heapUsed } = process.memoryUsage();
    process.stderr.write(`MEM ${Date.now()} ${rss} ${heapUsed}\n`);
  }, sampleMs).unref();
}

process.on('SIGTERM', () => {
  void app
    .close()
    .then(stop)
    .finally(() => process.exit(0));
});
