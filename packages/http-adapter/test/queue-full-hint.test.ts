import { createMemoryStore, type JobStore } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from '../../redis/test/redis-fixture.js';
import { QueueFullHint } from '../src/queue-full-hint.js';
import { post, setup, type Setup } from './setup.js';

let t: Setup | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await t?.close();
  await cleanup?.();
  t = undefined;
  cleanup = undefined;
});

interface Gate {
  /** Resolves when the next enqueue call reached the store. */
  arrived: Promise<void>;
  /** Lets its answer go back. */
  release: () => void;
}

/** Counts the store's enqueue calls (a shed batch must make none); `hold()` keeps the next call's answer until released. */
function counted(store: JobStore) {
  let calls = 0;
  let gate: { arrive: () => void; released: Promise<void> } | undefined;
  const enqueue = store.enqueue.bind(store);
  store.enqueue = async (jobs, options) => {
    calls++;
    const held = gate;
    gate = undefined;
    held?.arrive();
    const outcomes = await enqueue(jobs, options);
    await held?.released;
    return outcomes;
  };
  const hold = (): Gate => {
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    gate = { arrive, released: new Promise((resolve) => (release = resolve)) };
    return { arrived, release };
  };
  return { store, calls: () => calls, hold };
}

const items = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ input: { ms: from + i } }));

/**
 * Runs `act`, then waits until `n` events of `type` reached the store's listeners: the plugin's
 * listener was added first, so it has heard them by then (on Redis they come by pub/sub).
 */
async function heard(store: JobStore, type: string, n: number, act: () => Promise<unknown>): Promise<void> {
  let seen = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const off = store.subscribe((signal) => {
    if (signal.type === 'job.event' && signal.event.type === type && ++seen === n) done();
  });
  try {
    await act();
    await all;
  } finally {
    off();
  }
}

describe('QueueFullHint', () => {
  const hint = (holdMs = 100) => {
    const clock = { at: 0 };
    return { clock, hint: new QueueFullHint(holdMs, () => clock.at) };
  };

  it('counts as room the jobs heard leaving since the refused call was sent, a batch at its size', () => {
    const { hint: h } = hint();
    h.freed(); // before the call: the store's answer already counts it
    const mark = h.mark();
    h.freed();
    h.freed();
    h.full(mark, 2);
    expect(h.shed()).toBe(false); // the two heard after the call was sent: one batch of 2
    expect(h.shed()).toBe(true);
    h.freed();
    expect(h.shed()).toBe(true);
    h.freed();
    expect(h.shed()).toBe(false);
    expect(h.shed()).toBe(true);
  });

  it('takes a batch the store took in the hold as room refilled, and one after it as room found', () => {
    const { hint: h, clock } = hint();
    h.full(h.mark(), 3);
    h.freed();
    h.freed();
    h.freed();
    expect(h.shed()).toBe(false);
    h.room(3); // within the hold: still armed
    expect(h.shed()).toBe(true);
    clock.at = 100;
    expect(h.shed()).toBe(false); // the probe
    expect(h.shed()).toBe(true); // while it is out
    h.room(3); // after the hold: cleared
    expect(h.shed()).toBe(false);
    expect(h.shed()).toBe(false);
    // Not armed, jobs leaving are not counted: a refusal later starts from its own mark.
    h.freed();
    h.full(h.mark(), 1);
    expect(h.shed()).toBe(true);
  });

  it('never arms with a hold of 0', () => {
    const { hint: h } = hint(0);
    h.full(h.mark(), 5);
    expect(h.shed()).toBe(false);
  });
});

function hintSuite(name: string, newStore: () => { store: JobStore; cleanup: () => Promise<void> }) {
  async function start(options: { limit: number; holdMs?: number }) {
    const made = newStore();
    cleanup = made.cleanup;
    const spy = counted(made.store);
    // The edge's time, moved by hand: the hold runs out when the test says so.
    const clock = { at: 1_000_000, now: () => clock.at };
    const limits = options.holdMs === undefined ? {} : { queueFullHoldMs: options.holdMs };
    t = await setup({ system: { workers: 0, store: spy.store, queue: { limit: options.limit } }, plugin: { clock, limits } });
    // Every id an answer said was accepted (created), to check none is lost or given twice.
    const accepted: string[] = [];
    const batch = async (app: FastifyInstance, body: unknown[], url = '/jobs/sleep/batch') => {
      const res = await post(app, url, body);
      if (res.statusCode === 202 || res.statusCode === 207) {
        for (const item of res.json().items as { id?: string; created?: boolean }[]) if (item.created) accepted.push(item.id!);
      }
      return res;
    };
    return { app: t.app, system: t.system, calls: spy.calls, hold: spy.hold, clock, batch, accepted };
  }

  describe(`the queue-full hint of POST {prefix}/:name/batch (${name})`, () => {
    it('sheds a batch with 503 QUEUE_FULL and Retry-After without calling the store when it just said the queue is full', async () => {
      const { app, system, calls, batch } = await start({ limit: 3 });
      const partial = await batch(app, items(4));
      expect(partial.statusCode).toBe(207);
      expect(partial.json()).toMatchObject({ accepted: 3, refused: 1 });
      const before = calls();
      const shed = await batch(app, items(2, 10));
      expect(shed.statusCode).toBe(503);
      expect(shed.headers['content-type']).toContain('application/problem+json');
      expect(shed.headers['retry-after']).toBe('1');
      expect(shed.json()).toMatchObject({ code: 'QUEUE_FULL', status: 503, retryAfter: 1, instance: '/jobs/sleep/batch' });
      // Any job type: the bound is the whole queue's. Atomic batches too.
      expect((await batch(app, [{ input: {} }], '/jobs/echo/batch')).statusCode).toBe(503);
      expect((await batch(app, items(1), '/jobs/sleep/batch?atomic=true')).statusCode).toBe(503);
      expect(calls()).toBe(before);
      expect((await system.stats()).queued).toBe(3);
      // Counted in /metrics like any other refusal.
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/_http_problems_total\{code="QUEUE_FULL"\} 3$/m);
    });

    it('asks the store again after the hold, one batch at a time, and takes batches again once one got in', async () => {
      const { app, system, calls, hold, clock, batch, accepted } = await start({ limit: 4, holdMs: 100 });
      expect((await batch(app, items(6))).json()).toMatchObject({ accepted: 4, refused: 2 });
      // Room comes back (two jobs cancelled), but within the hold nothing asks the store.
      const queued = [...accepted];
      for (const id of queued.slice(0, 2)) await system.cancel(id);
      clock.at += 99;
      const before = calls();
      expect((await batch(app, items(1, 10))).statusCode).toBe(503);
      expect(calls()).toBe(before);

      // The hold ran out: one batch probes the store; while its answer is awaited, others are shed.
      clock.at += 1;
      const gate = hold();
      const probe = batch(app, items(1, 20));
      await gate.arrived;
      expect((await batch(app, items(1, 30))).statusCode).toBe(503);
      gate.release();
      expect((await probe).statusCode).toBe(202);
      expect(calls()).toBe(before + 1);
      // The probe got in: every batch asks the store again; partial room is still a 207.
      const partial = await batch(app, items(3, 40));
      expect(partial.statusCode).toBe(207);
      expect(partial.json()).toMatchObject({
        accepted: 1,
        refused: 2,
        items: [{}, { error: { code: 'QUEUE_FULL' } }, { error: { code: 'QUEUE_FULL' } }],
      });
      expect(calls()).toBe(before + 2);
      // Full again: shed again, until a probe finds the queue still full and re-arms the hold.
      expect((await batch(app, items(1, 50))).statusCode).toBe(503);
      clock.at += 100;
      const stillFull = await batch(app, items(1, 60));
      expect(stillFull.statusCode).toBe(207);
      expect(stillFull.json()).toMatchObject({ accepted: 0, refused: 1 });
      expect((await batch(app, items(1, 70))).statusCode).toBe(503);
      expect(calls()).toBe(before + 3);

      // Nothing accepted was lost or given twice: the queue holds exactly the accepted jobs less the cancelled.
      expect(new Set(accepted).size).toBe(accepted.length);
      expect(accepted).toHaveLength(6);
      expect((await system.stats()).queued).toBe(4);
      const states = await Promise.all(accepted.map(async (id) => (await system.get(id))?.status));
      expect(states).toEqual(['cancelled', 'cancelled', 'queued', 'queued', 'queued', 'queued']);
    });

    it('lets a batch through in the hold once as many jobs left the queue as the last batch carried', async () => {
      const { app, system, calls, batch, accepted } = await start({ limit: 6, holdMs: 100 });
      expect((await batch(app, items(4))).statusCode).toBe(202);
      expect((await batch(app, items(4, 10))).json()).toMatchObject({ accepted: 2, refused: 2 });
      const before = calls();
      // Three of the queue's jobs leave (cancelled; a start counts the same): not room for a batch of 4.
      await heard(system.store, 'job.cancelled', 3, () => Promise.all(accepted.slice(0, 3).map((id) => system.cancel(id))));
      expect((await batch(app, items(4, 20))).statusCode).toBe(503);
      expect(calls()).toBe(before);
      // A fourth: one batch goes to the store, which takes it whole; the hold goes on.
      await heard(system.store, 'job.cancelled', 1, () => system.cancel(accepted[3]!));
      expect((await batch(app, items(4, 30))).statusCode).toBe(202);
      expect(calls()).toBe(before + 1);
      expect((await batch(app, items(4, 40))).statusCode).toBe(503);
      expect(calls()).toBe(before + 1);
      expect((await system.stats()).queued).toBe(6);
    });

    it('is armed by a single submit refused at the bound, and not by an atomic batch that does not fit', async () => {
      const { app, calls, batch } = await start({ limit: 2 });
      const atomic = await batch(app, items(3), '/jobs/sleep/batch?atomic=true');
      expect(atomic.statusCode).toBe(503);
      // A smaller batch may still fit after an atomic refusal: it asks the store.
      expect((await batch(app, items(2))).statusCode).toBe(202);
      const single = await post(app, '/jobs/sleep', { ms: 1 });
      expect(single.statusCode).toBe(503);
      expect(single.json().code).toBe('QUEUE_FULL');
      const before = calls();
      expect((await batch(app, items(1))).statusCode).toBe(503);
      expect(calls()).toBe(before);
    });

    it('asks the store for every batch with queueFullHoldMs: 0', async () => {
      const { app, calls, batch } = await start({ limit: 1, holdMs: 0 });
      expect((await batch(app, items(2))).statusCode).toBe(207);
      const before = calls();
      const again = await batch(app, items(2));
      expect(again.statusCode).toBe(207);
      expect(again.headers['retry-after']).toBe('1');
      expect(calls()).toBe(before + 1);
    });
  });
}

hintSuite('memory store', () => ({ store: createMemoryStore(), cleanup: async () => {} }));

await describeWithRedis('the queue-full hint on Redis', () => {
  hintSuite('Redis store', () => {
    const prefix = testPrefix();
    const store = createRedisStore({ url: redisUrl, prefix });
    return { store, cleanup: () => deletePrefix(prefix) };
  });
});
