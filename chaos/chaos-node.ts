/**
 * One node of the chaos cluster: a job system over the Redis store, in its own process, so the
 * suite can kill -9 it, SIGSTOP it or SIGTERM it for real. Configured from the environment.
 *
 * Every job that finishes its work appends a line to this node's ledger file before returning —
 * the job's side effect. The write is synchronous, so it is on disk (in the page cache) before
 * the attempt can settle, and a kill -9 right after it cannot undo it: the ledger counts every
 * execution exactly, whatever happens to the process or to Redis.
 *
 * stdout, one line each: `READY`, `START <id> <attempt>`, `DRAINED`, `HEALTH <health>`,
 * `STALL <from> <to>` (epoch ms of a stall it was told to make), `ERROR <at> <message>: <reason>`
 * (a warning or error the runtime logged with an error: a store operation that failed, with the
 * Redis client's reason).
 *
 * SIGUSR2 makes the node spin for `STALL_MS` (default twice the lease): an event-loop stall
 * (a long GC pause, a synchronous library call) that no timer, renewal or I/O can interrupt.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createJobSystem, defineJob, silentLogger, type JobContext, type Logger } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import { Redis } from 'ioredis';

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

/**
 * The runtime's warnings and errors that carry an error, one line each, so a scenario can tell
 * how the node learnt of a fault (a command timeout, a dropped connection) and when.
 */
function errorLines(): Logger {
  const write = (obj: object, msg?: string) => {
    const err = (obj as { err?: { message?: unknown; cause?: { message?: unknown } } }).err;
    if (!err) return;
    const message = err.cause?.message ?? err.message;
    const reason = (typeof message === 'string' ? message : '').replace(/\s+/g, ' ');
    process.stdout.write(`ERROR ${Date.now()} ${msg ?? ''}: ${reason}\n`);
  };
  const logger: Logger = { ...silentLogger, warn: write, error: write, child: () => logger };
  return logger;
}

const url = env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const commandTimeout = Number(env['COMMAND_TIMEOUT_MS'] ?? 0);
// A command timeout is a client setting (ioredis has none by default: a command on a connection
// that silently stopped delivering waits forever), so the node brings its own client for it.
const client = commandTimeout > 0 ? new Redis(url, { maxRetriesPerRequest: 3, commandTimeout }) : undefined;
client?.on('error', () => {});
const store = createRedisStore({
  ...(client ? { client } : { url }),
  prefix: env['REDIS_PREFIX'] ?? 'chaos',
  sweepMs: Number(env['SWEEP_MS'] ?? 100),
  maxStalls: Number(env['MAX_STALLS'] ?? 3),
});
const leaseMs = Number(env['LEASE_MS'] ?? 1_000);
const system = createJobSystem({
  jobs: [work, hog, poison, fan],
  workers: Number(env['WORKERS'] ?? 8),
  store,
  nodeId,
  leaseMs,
  queue: { limit: 1_000_000 },
  logger: errorLines(),
  ...(env['RECONCILE_MS'] ? { reconcileMs: Number(env['RECONCILE_MS']) } : {}),
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

process.on('SIGUSR2', () => {
  const from = Date.now();
  const until = from + Number(env['STALL_MS'] ?? 2 * leaseMs);
  while (Date.now() < until) {
    // spin: the stall under test
  }
  process.stdout.write(`STALL ${from} ${Date.now()}\n`);
});

// A graceful stop as an orchestrator does it: stop claiming, let running jobs finish within the
// grace period, hand back whatever is still running after it, close.
process.once('SIGTERM', () => {
  void system.stop({ drain: true, timeoutMs: Number(env['GRACE_MS'] ?? 5_000) }).then(async () => {
    process.stdout.write('DRAINED\n');
    await store.close();
    client?.disconnect();
    process.exit(0);
  });
});
