import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMemoryStore,
  type ClaimedJob,
  type JobRecord,
  type JobStore,
  type NewJob,
  type Settlement,
  type StoreSignal,
} from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { functionLibrary } from '../src/function-library.js';
import { RedisStore } from '../src/index.js';
import { canStartRedis, startRedisServer, type PrivateRedis } from './private-redis.js';
import { testPrefix } from './redis-fixture.js';

/**
 * The Redis store against the memory store as its model: the same random sequence of calls goes
 * to both — on the Redis side through several store instances (nodes) on one prefix — and every
 * answer and every record must agree, while the Redis side also loses its subscriber connections,
 * has its nodes replaced by new instances, and has a caller die in the middle of a cascade. Then:
 * every job ended at most once (one terminal event), and none is left waiting for children that
 * all ended. On a Redis of the test's own (subscriber connections are killed).
 */
if (!canStartRedis) console.warn('\n!!! store model suite SKIPPED: install redis-server to run it. !!!\n');

const NODES = 3;
const SWEEP_MS = 50;
const ERR = { code: 'JOB_FAILED', message: 'boom' } as const;

interface Model {
  ids: string[];
  /** Leases each node holds, as the memory store handed them out (the Redis side must agree). */
  leases: ClaimedJob[][];
  /** Jobs whose lease a renewal found lapsed: the next claim's sweep takes them back, not the renewal. */
  lapsed: Set<string>;
  next: number;
}

interface Real {
  clock: SimulatedClock;
  memory: JobStore;
  redis: RedisStore[];
  resumed: number[];
  admin: Redis;
  url: string;
  prefix: string;
}

type Cmd = fc.AsyncCommand<Model, Real>;

/** Both stores, then the answers compared. */
async function both<T>(real: Real, node: number, call: (store: JobStore) => Promise<T>): Promise<T> {
  const expected = await call(real.memory);
  const actual = await call(real.redis[node]!);
  expect(actual).toEqual(expected);
  return expected;
}

/** The fields of a record both stores must agree on. */
const viewed = [
  'id',
  'status',
  'attempt',
  'priority',
  'createdAt',
  'startedAt',
  'finishedAt',
  'runAt',
  'output',
  'error',
  'parentId',
  'rootId',
  'childCount',
  'pendingChildren',
  'input',
] as const satisfies readonly (keyof JobRecord)[];

function view(r: JobRecord | undefined): Pick<JobRecord, (typeof viewed)[number]> | undefined {
  if (!r) return undefined;
  return Object.fromEntries(viewed.map((key) => [key, r[key]])) as Pick<JobRecord, (typeof viewed)[number]>;
}

/** Every record and the counts, on both sides. */
async function compareAll(model: Model, real: Real): Promise<void> {
  const mem = await real.memory.getMany(model.ids);
  const red = await real.redis[0]!.getMany(model.ids);
  expect(red.map(view)).toEqual(mem.map(view));
  expect(await real.redis[1]!.counts()).toEqual(await real.memory.counts());
  // No parent waits for children that all ended, unless an attempt holds it (its code decides) or
  // held it until its lease lapsed (the next claim's sweep takes it back).
  const held = new Set(model.leases.flat().map((l) => l.id));
  for (const r of red)
    if (r?.status === 'waitingChildren' && r.pendingChildren === 0) expect(held.has(r.id) || model.lapsed.has(r.id), r.id).toBe(true);
}

class Enqueue implements Cmd {
  constructor(readonly jobs: { name: string; priority: number; parent: number | null; stale: boolean; key: number | null; delayMs: number }[]) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const batch: NewJob[] = this.jobs.map((spec) => {
      const id = `j${model.next++}`;
      const parentId = spec.parent === null || model.ids.length === 0 ? undefined : model.ids[spec.parent % model.ids.length]!;
      const lease = parentId === undefined ? undefined : model.leases.flat().find((l) => l.id === parentId);
      return {
        id,
        name: spec.name,
        input: { n: id },
        priority: spec.priority,
        ...(spec.delayMs > 0 ? { runAt: real.clock.now() + spec.delayMs } : {}),
        ...(spec.key !== null ? { idempotencyKey: `k${spec.key}` } : {}),
        ...(parentId !== undefined ? { parentId } : {}),
        ...(lease ? { parentToken: spec.stale ? lease.token + 7 : lease.token } : {}),
      };
    });
    const outcomes = await both(real, 0, (s) => s.enqueue(batch, { limit: 1_000 }));
    outcomes.forEach((o, i) => o.ok && o.created && model.ids.push(batch[i]!.id));
  }
  toString = () => `Enqueue(${JSON.stringify(this.jobs)})`;
}

/** A parent with more children than one Redis call cascades over (a cascade continues in later calls). */
class EnqueueFan implements Cmd {
  constructor(readonly width: number) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const parent = `j${model.next++}`;
    const batch: NewJob[] = [{ id: parent, name: 'fan', input: null, priority: 0 }];
    for (let i = 0; i < this.width; i++) batch.push({ id: `j${model.next++}`, name: 'leaf', input: null, priority: 0, parentId: parent });
    const outcomes = await both(real, 1, (s) => s.enqueue(batch, { limit: 1_000 }));
    outcomes.forEach((o, i) => o.ok && o.created && model.ids.push(batch[i]!.id));
  }
  toString = () => `EnqueueFan(${this.width})`;
}

class Claim implements Cmd {
  constructor(
    readonly node: number,
    readonly max: number,
    readonly names: readonly string[] | undefined,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const request = { owner: `node-${this.node}`, max: this.max, leaseMs: 1_000, ...(this.names ? { names: this.names } : {}) };
    const expected = await real.memory.claim(request);
    const actual = await real.redis[this.node]!.claim(request);
    expect(actual.jobs).toEqual(expected.jobs);
    // The memory store may name the time of a delayed job cancelled since (it removes those
    // lazily); the Redis store names the earliest job still delayed. Never later than the model.
    if (actual.nextRunAt !== expected.nextRunAt) {
      const delayed = (await real.memory.getMany(model.ids)).filter((r) => r?.status === 'delayed').map((r) => r!.runAt!);
      expect(actual.nextRunAt).toBe(delayed.length > 0 ? Math.min(...delayed) : undefined);
    }
    model.leases[this.node]!.push(...expected.jobs);
  }
  toString = () => `Claim(${this.node}, ${this.max}, ${this.names?.join('+') ?? 'all'})`;
}

/** Settles one of the leases the nodes hold (or held: a lapsed or superseded one is stale). */
class Settle implements Cmd {
  constructor(
    readonly pick: number,
    readonly outcome: Settlement['outcome'],
  ) {}
  check = (model: Readonly<Model>) => model.leases.some((l) => l.length > 0);
  node = 0;
  async run(model: Model, real: Real) {
    const holders = model.leases.flatMap((l, n) => (l.length > 0 ? [n] : []));
    this.node = holders[this.pick % holders.length]!;
    const leases = model.leases[this.node]!;
    const [lease] = leases.splice(this.pick % leases.length, 1);
    const ref = { id: lease!.id, token: lease!.token };
    const settlement: Settlement =
      this.outcome === 'completed'
        ? { ...ref, outcome: 'completed', output: { done: ref.id } }
        : this.outcome === 'retry'
          ? { ...ref, outcome: 'retry', error: ERR, runAt: real.clock.now() + 500 }
          : this.outcome === 'released'
            ? { ...ref, outcome: 'released' }
            : { ...ref, outcome: this.outcome, error: ERR };
    await both(real, this.node, (s) => s.settle([settlement]));
  }
  toString = () => `Settle(${this.pick}, ${this.outcome})`;
}

/** A held parent starts or stops waiting for its children (`job.waiting`, then `job.resumed`). */
class SetWaiting implements Cmd {
  constructor(
    readonly pick: number,
    readonly waiting: boolean,
  ) {}
  check = (model: Readonly<Model>) => model.leases.some((l) => l.length > 0);
  async run(model: Model, real: Real) {
    const held = model.leases.flatMap((l, n) => l.map((lease) => ({ lease, n })));
    const { lease, n } = held[this.pick % held.length]!;
    await both(real, n, (s) => s.setWaiting({ id: lease.id, token: lease.token }, this.waiting));
  }
  toString = () => `SetWaiting(${this.pick}, ${this.waiting})`;
}

class Renew implements Cmd {
  constructor(readonly node: number) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const leases = model.leases[this.node]!;
    const answers = await both(real, this.node, (s) => s.renew(leases, 1_000));
    model.leases[this.node] = leases.filter((lease, i) => answers[i]!.held || void model.lapsed.add(lease.id));
  }
  toString = () => `Renew(${this.node})`;
}

class Cancel implements Cmd {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>) => model.ids.length > 0;
  async run(model: Model, real: Real) {
    await both(real, 2, (s) => s.cancel(model.ids[this.pick % model.ids.length]!, { code: 'JOB_CANCELLED', message: 'stop' }));
  }
  toString = () => `Cancel(${this.pick})`;
}

/** Time passes: leases lapse, delayed jobs fall due. */
class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    // Leases that lapse stay in the model: their settlements and renewals must be answered alike.
    await real.clock.advance(this.ms);
  }
  toString = () => `Advance(${this.ms})`;
}

/** Redis drops every subscriber connection (as it does to slow subscribers); each node says signals may be lost. */
class KillSubscribers implements Cmd {
  check = () => true;
  async run(_model: Model, real: Real) {
    const before = [...real.resumed];
    await real.admin.client('KILL', 'TYPE', 'pubsub');
    await expect.poll(() => real.resumed.every((n, i) => n > before[i]!), { timeout: 10_000 }).toBe(true);
  }
  toString = () => 'KillSubscribers';
}

/** A node's store replaced by a new instance on the same prefix (a restarted process). */
class RestartNode implements Cmd {
  constructor(readonly node: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    await real.redis[this.node]!.close();
    real.redis[this.node] = openNode(real, this.node);
    await real.redis[this.node]!.counts(); // its subscription is live once a call returns
  }
  toString = () => `RestartNode(${this.node})`;
}

/**
 * A caller cancels and dies after the first call of the cascade: the rest is left in Redis' work
 * list, and the other nodes' sweeps must finish it within a sweep interval or so.
 */
class CancelAndDie implements Cmd {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>) => model.ids.length > 0;
  async run(model: Model, real: Real) {
    const id = model.ids[this.pick % model.ids.length]!;
    const reason = { code: 'JOB_CANCELLED', message: 'stop' } as const;
    await real.memory.cancel(id, reason);
    const base = `{${real.prefix}}:`;
    const args = [String(real.clock.now()), '100', '10000', '3600000', '3', id, JSON.stringify(reason)];
    await real.admin.fcall(`${functionLibrary.name}_cancel`, 1, base, ...args);
    await expect.poll(() => real.admin.llen(`${base}work`), { timeout: 20 * SWEEP_MS + 5_000, interval: 10 }).toBe(0);
  }
  toString = () => `CancelAndDie(${this.pick})`;
}

function openNode(real: Real, node: number): RedisStore {
  const store = new RedisStore({ url: real.url, prefix: real.prefix, clock: real.clock, sweepMs: SWEEP_MS });
  store.subscribe((signal: StoreSignal) => {
    if (signal.type === 'signals.resumed') real.resumed[node]!++;
  });
  return store;
}

const node = fc.integer({ min: 0, max: NODES - 1 });
const enqueue = fc
  .array(
    fc.record({
      name: fc.constantFrom('a', 'b'),
      priority: fc.constantFrom(0, 0, 0, 2, -1),
      parent: fc.option(fc.nat(), { freq: 2 }),
      stale: fc.boolean(),
      key: fc.option(fc.nat({ max: 3 }), { freq: 4 }),
      delayMs: fc.constantFrom(0, 0, 0, 300),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .map((jobs) => new Enqueue(jobs));
// One name per claim: across names, equal priorities come out in the order they became ready in
// the Redis store and, in the memory store, in the order they were submitted (a job retried or
// promoted from delayed keeps its old place there); within a name both go by readiness.
const claim = fc
  .tuple(node, fc.integer({ min: 1, max: 3 }), fc.constantFrom(['a'], ['b'], ['leaf'], ['fan']))
  .map(([n, max, names]) => new Claim(n, max, names));
const settle = fc
  .tuple(fc.nat(), fc.constantFrom<Settlement['outcome']>('completed', 'completed', 'failed', 'retry', 'released', 'cancelled'))
  .map(([pick, outcome]) => new Settle(pick, outcome));
// Repeated entries weigh the draw: mostly the everyday calls, now and then a fault.
const commands = [
  enqueue,
  enqueue,
  enqueue,
  claim,
  claim,
  claim,
  settle,
  settle,
  settle,
  settle,
  fc.tuple(fc.nat(), fc.boolean()).map(([pick, waiting]) => new SetWaiting(pick, waiting)),
  fc.tuple(fc.nat(), fc.boolean()).map(([pick, waiting]) => new SetWaiting(pick, waiting)),
  node.map((n) => new Renew(n)),
  fc.nat().map((pick) => new Cancel(pick)),
  fc.constantFrom(100, 400, 1_000).map((ms) => new Advance(ms)),
  fc.constantFrom(100, 400, 1_000).map((ms) => new Advance(ms)),
  fc.integer({ min: 150, max: 300 }).map((width) => new EnqueueFan(width)),
  fc.constant(new KillSubscribers()),
  node.map((n) => new RestartNode(n)),
  fc.nat().map((pick) => new CancelAndDie(pick)),
];

(canStartRedis ? describe : describe.skip)('RedisStore against the memory store (model-based)', () => {
  let server: PrivateRedis;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedisServer([]);
    admin = new Redis(server.port);
  }, 30_000);
  afterAll(() => {
    admin?.disconnect();
    server?.stop();
  });

  it('agrees with the model on every answer and record; every job ends at most once, no parent waits for nothing', async () => {
    const ran = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: 'max' }), async (cmds) => {
        const clock = new SimulatedClock();
        const real: Real = {
          clock,
          memory: createMemoryStore({ clock }),
          redis: [],
          resumed: Array<number>(NODES).fill(0),
          admin,
          url: `redis://127.0.0.1:${server.port}`,
          prefix: testPrefix(),
        };
        for (let n = 0; n < NODES; n++) real.redis.push(openNode(real, n));
        await Promise.all(real.redis.map((s) => s.counts())); // subscriptions live
        const model: Model = { ids: [], leases: Array.from({ length: NODES }, () => []), lapsed: new Set(), next: 0 };
        try {
          await fc.asyncModelRun(
            () => ({ model, real }),
            [...cmds].map((cmd) => ({
              check: (m: Readonly<Model>) => cmd.check(m),
              run: async (m: Model, r: Real) => {
                await cmd.run(m, r);
                const debug = process.env.MODEL_DEBUG;
                if (debug) {
                  const [me, re] = await Promise.all([r.memory.events(debug, 0), r.redis[0]!.events(debug, 0)]);
                  console.info(
                    cmd.toString().slice(0, 40),
                    'mem',
                    me.map((e) => e.type).join(','),
                    '| redis',
                    re.map((e) => e.type).join(','),
                    '|',
                    JSON.stringify(view(await r.redis[0]!.get(debug))),
                  );
                }
                const kind = cmd.toString().replace(/\(.*/, '');
                ran.set(kind, (ran.get(kind) ?? 0) + 1);
                await compareAll(m, r);
              },
              toString: () => cmd.toString(),
            })),
          );
          // Exactly once: a job that ended has one terminal event, in both stores alike.
          for (const id of model.ids) {
            const [mem, red] = await Promise.all([real.memory.events(id, 0), real.redis[0]!.events(id, 0)]);
            expect([id, red.map((e) => [e.seq, e.type, e.status])]).toEqual([id, mem.map((e) => [e.seq, e.type, e.status])]);
            const ends = red.filter((e) => e.type === 'job.completed' || e.type === 'job.failed' || e.type === 'job.cancelled');
            expect(ends.length).toBeLessThanOrEqual(1);
          }
        } finally {
          await Promise.all(real.redis.map((s) => s.close()));
          await real.memory.close();
          const keys = await admin.keys(`{${real.prefix}}:*`);
          if (keys.length > 0) await admin.del(...keys);
        }
      }),
      {
        numRuns: Number(process.env.MODEL_RUNS ?? 25),
        endOnFailure: true,
        // To replay a failure: MODEL_SEED and MODEL_PATH from its report (MODEL_DEBUG=<id> follows a job).
        ...(process.env.MODEL_SEED ? { seed: Number(process.env.MODEL_SEED) } : {}),
        ...(process.env.MODEL_PATH ? { path: process.env.MODEL_PATH } : {}),
      },
    );
    console.info(`model runs executed: ${JSON.stringify(Object.fromEntries(ran))}`);
  }, 600_000);
});
