/**
 * One server of the sharding benchmark, run in a fresh process per variant by
 * bench/redis-scale.ts (never on its own). Prints `READY <port>` once it listens; GET
 * /bench-stats answers this process's CPU time and its job counters.
 *
 *   ours     the quickstart itself (`createQuickstart`, the jobs plugin at /jobs, 64 workers) with
 *            REDIS_URL as given: one URL is the single-shard store, a comma-separated list one
 *            shard per server (REDIS_SHARDS=1 with one URL: the sharded store over one shard)
 *   bullmq   fastify + BullMQ written the obvious way: `queue.add` in the route, answering 202,
 *            and a `Worker` with concurrency 64 in the same process
 *   bare     fastify alone: the same route answering 202 with an id and queueing nothing — what
 *            HTTP costs both sides before any queue (the fixed part of the ratio's bound)
 */
import { Queue, Worker } from 'bullmq';
import Fastify from 'fastify';
import { createQuickstart } from '../examples/quickstart/src/quickstart-app.js';

const variant = process.argv[2];
const redisUrl = process.env['REDIS_URL']!;
let stats: () => Promise<{ accepted: number; completed: number }>;
let close: () => Promise<void>;
let listen: () => Promise<number>;

if (variant === 'ours') {
  const shards = process.env['REDIS_SHARDS'] ? Number(process.env['REDIS_SHARDS']) : undefined;
  const { app, system, shutdown } = await createQuickstart({
    workers: 64,
    queueLimit: 1_000_000,
    redisUrl,
    redisShards: shards,
    logger: false,
    dashboard: false,
  });
  app.get('/bench-stats', async () => ({ cpuUs: cpuUs(), ...(await counters()) }));
  const counters = async () => {
    const s = await system.stats();
    return { accepted: s.submitted, completed: s.completed };
  };
  stats = counters;
  close = () => shutdown(1_000);
  listen = async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    return (app.server.address() as { port: number }).port;
  };
} else if (variant === 'bullmq') {
  const url = new URL(redisUrl);
  const connection = { host: url.hostname, port: Number(url.port || 6379) };
  const queue = new Queue('echo', { connection });
  let completed = 0;
  let accepted = 0;
  const worker = new Worker('echo', async (job) => job.data as unknown, { connection, concurrency: 64, removeOnComplete: { count: 10_000 } });
  worker.on('completed', () => completed++);
  const app = Fastify({ logger: false });
  app.post('/jobs/echo', async (request, reply) => {
    const job = await queue.add('echo', request.body);
    accepted++;
    return reply.code(202).send({ id: job.id, status: 'queued' });
  });
  stats = async () => ({ accepted, completed });
  app.get('/bench-stats', async () => ({ cpuUs: cpuUs(), ...(await stats()) }));
  close = async () => {
    await app.close();
    await worker.close();
    await queue.close();
  };
  listen = async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    return (app.server.address() as { port: number }).port;
  };
} else if (variant === 'bare') {
  const app = Fastify({ logger: false });
  let accepted = 0;
  app.post('/jobs/echo', async (request, reply) => {
    accepted++;
    return reply.code(202).send({ id: `job-${accepted}`, status: 'queued' });
  });
  stats = async () => ({ accepted, completed: accepted });
  app.get('/bench-stats', async () => ({ cpuUs: cpuUs(), ...(await stats()) }));
  close = () => app.close();
  listen = async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    return (app.server.address() as { port: number }).port;
  };
} else {
  throw new Error(`unknown variant ${variant}`);
}

function cpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

process.stdout.write(`READY ${await listen()}\n`);
process.once('SIGTERM', () => {
  void close().finally(() => process.exit(0));
});
