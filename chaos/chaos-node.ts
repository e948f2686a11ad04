/**
 * One node of the chaos cluster: a job system over the Redis store, in its own process, so the
 * suite can kill -9 it, SIGSTOP it or SIGTERM it for real. Configured from the environment.
 *
 * Every job that finishes its work appends a line to this node's ledger file before returning —
 * the job's side effect. The write is synchronous, so it is on disk (in the page cache) before
 * the attempt can settle, and a kill -9 right after it cannot undo it: the ledger counts every
 * execution exactly, whatever happens to the process or to Redis.
 *
 * stdout, one line each: `READY`, `START <id> <attempt>`, `DRAINED`.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createJobSystem, defineJob, type JobContext } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';

const env = process.env;
const nodeId = env['NODE_ID'] ?? `node-${process.pid}`;
const ledger = join(env['LEDGER_DIR'] ?? '.', `${nodeId}.ledger`);

function record(ctx: JobContext): void {
  appendFileSync(ledger, `${ctx.id} ${ctx.attempt} ${nodeId} ${Date.now()}\n`);
}

function started(ctx: JobContext): void {
  process.stdout.write(`START ${ctx.id} ${ctx.attempt}\n`);
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}

/** Waits `ms` (honouring the signal), then records its side effect. */
const work = defineJob({
  name: 'work',
  async run(input: { ms: number }, ctx) {
    started(ctx);
    await delay(input.ms, ctx.signal);
    record(ctx);
    return { node: nodeId, attempt: ctx.attempt };
  },
});

/** Blocks the event loop for `ms` on every attempt: no timer, no renewal, no I/O runs meanwhile. */
const hog = defineJob({
  name: 'hog',
  run(input: { ms: number }, ctx) {
    started(ctx);
    const until = Date.now() + input.ms;
    while (Date.now() < until) {
      // spin: this is the fault under test
    }
    record(ctx);
    return { node: nodeId, attempt: ctx.attempt };
  },
});

/** Crashes its whole process on every attempt, like a native module that segfaults on one input. */
const poison = defineJob({
  name: 'poison',
  run(_input: unknown, ctx) {
    started(ctx);
    process.kill(process.pid, 'SIGKILL');
    return { node: nodeId };
  },
});

/** A parent that fans out to `width` keyed children, so a re-run after a crash finds the same ones. */
const fan = defineJob({
  name: 'fan',
  async run(input: { width: number; ms: number }, ctx) {
    started(ctx);
    const children = await Promise.all(Array.from({ length: input.width }, (_, i) => ctx.spawn(work, { ms: input.ms }, { key: `child-${i}` })));
    record(ctx);
    return { node: nodeId, attempt: ctx.attempt, children: children.map((c) => c.node) };
  },
});

const store = createRedisStore({
  url: env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
  prefix: env['REDIS_PREFIX'] ?? 'chaos',
  sweepMs: Number(env['SWEEP_MS'] ?? 100),
  maxStalls: Number(env['MAX_STALLS'] ?? 3),
});
const system = createJobSystem({
  jobs: [work, hog, poison, fan],
  workers: Number(env['WORKERS'] ?? 8),
  store,
  nodeId,
  leaseMs: Number(env['LEASE_MS'] ?? 1_000),
  queue: { limit: 1_000_000 },
});
await system.start();
process.stdout.write('READY\n');

// Health changes (a node that gave up after too many worker crashes) are part of what a
// scenario checks; polled because the runtime has no event for them.
let health = system.health();
setInterval(() => {
  if (system.health() === health) return;
  health = system.health();
  process.stdout.write(`HEALTH ${health}\n`);
}, 100).unref();

// A graceful stop as an orchestrator does it: stop claiming, let running jobs finish within the
// grace period, hand back whatever is still running after it, close.
process.once('SIGTERM', () => {
  void system.stop({ drain: true, timeoutMs: Number(env['GRACE_MS'] ?? 5_000) }).then(async () => {
    process.stdout.write('DRAINED\n');
    await store.close();
    process.exit(0);
  });
});
