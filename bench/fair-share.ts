/**
 * Fair share on Redis: tenant A queues a backlog (BACKLOGS, default 5,000 and 50,000 jobs), then,
 * while the node works through it, tenant B submits 100. B's wait (started − created, from the
 * store's records) is reported as p50 / p99 / max in ms and in job times — the time one worker
 * actually spent per job in that run (workers × elapsed / jobs finished; RUN_MS of sleep plus the
 * node's and Redis' share on a loaded machine) — and as the jobs that finished while B waited.
 * With the tenant as the flow key (fair: keys take turns) and, as the peer in the same run,
 * without it (one FIFO queue). Each variant on a fresh redis-server of its own; one node of
 * WORKERS workers.
 *
 *   node --conditions=source --import tsx bench/fair-share.ts
 */
import { createJobSystem, defineJob, newJobId, type NewJob } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import { startBenchRedis } from './bench-redis.js';

const RUN_MS = Number(process.env['RUN_MS'] ?? 5);
const WORKERS = Number(process.env['WORKERS'] ?? 20);
const B_JOBS = 100;
const BACKLOGS = (process.env['BACKLOGS'] ?? '5000,50000').split(',').map(Number);
/** A run that takes longer than this is cut short (and says so). */
const DEADLINE_MS = Number(process.env['DEADLINE_MS'] ?? 60_000);

const work = defineJob({
  name: 'tenant-work',
  async run() {
    await new Promise((resolve) => setTimeout(resolve, RUN_MS));
  },
});

interface Outcome {
  waits: number[];
  /** Jobs finished between B's submit and B's last start, and the ms that took. */
  finished: number;
  elapsedMs: number;
  done: boolean;
}

async function run(backlog: number, fair: boolean): Promise<Outcome> {
  const redis = await startBenchRedis();
  const store = createRedisStore({ url: redis.url, prefix: 'fair', retention: { count: 200_000 } });
  const system = createJobSystem({ jobs: [work], workers: WORKERS, store, queue: { limit: 1_000_000 } });
  try {
    const job = (tenant: string): NewJob => ({
      id: newJobId(),
      name: 'tenant-work',
      input: {},
      priority: 0,
      meta: { tenant },
      ...(fair ? { key: tenant } : {}),
    });
    // A's backlog goes in before the node starts, so B arrives behind all of it.
    for (let i = 0; i < backlog; i += 1_000) {
      await store.enqueue(
        Array.from({ length: Math.min(1_000, backlog - i) }, () => job('a')),
        { limit: 1_000_000 },
      );
    }
    await system.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const b = Array.from({ length: B_JOBS }, () => job('b'));
    const before = (await store.counts()).completed;
    const submitted = Date.now();
    await store.enqueue(b, { limit: 1_000_000 });
    const deadline = Date.now() + DEADLINE_MS;
    let records = await store.getMany(b.map((j) => j.id));
    while (records.some((r) => r?.startedAt === undefined) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      records = await store.getMany(b.map((j) => j.id));
    }
    const finished = (await store.counts()).completed - before;
    const elapsedMs = Date.now() - submitted;
    const waits = records.filter((r) => r?.startedAt !== undefined).map((r) => r!.startedAt! - r!.createdAt);
    return { waits: waits.sort((x, y) => x - y), finished, elapsedMs, done: waits.length === B_JOBS };
  } finally {
    await system.stop({ drain: false, timeoutMs: 2_000 });
    await store.close();
    await redis.stop();
  }
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN;
console.log(`Fair share: B submits ${B_JOBS} jobs behind A's backlog; one node, ${WORKERS} workers, jobs of ${RUN_MS} ms of sleep`);
for (const backlog of BACKLOGS) {
  for (const fair of [true, false]) {
    const o = await run(backlog, fair);
    const jobMs = (WORKERS * o.elapsedMs) / Math.max(1, o.finished);
    const label = `${fair ? 'fair (tenant key)' : 'FIFO (no key)    '}  A backlog ${String(backlog).padStart(6)}`;
    const at = (p: number) => `${pct(o.waits, p).toFixed(0)} ms = ${(pct(o.waits, p) / jobMs).toFixed(1)} jobs`;
    const figures = `B wait p50 ${at(50)}, p99 ${at(99)}; ${o.finished} jobs finished meanwhile (job time ${jobMs.toFixed(1)} ms)`;
    console.log(`  ${label}  ${figures}${o.done ? '' : `  (cut at ${DEADLINE_MS} ms: ${o.waits.length} of ${B_JOBS} started)`}`);
  }
}
