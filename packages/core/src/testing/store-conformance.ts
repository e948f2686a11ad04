import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { SerializedError } from '../errors.js';
import type { ClaimedJob, ClaimRequest, JobStore, NewJob, StoreSignal } from '../store/job-store.js';
import type { SimulatedClock } from './simulated-clock.js';

/** What a store under test is built with; each implementation maps it onto its own options. */
export interface StoreFactoryOptions {
  retention?: { count?: number; ageMs?: number };
  maxStalls?: number;
  eventsPerJob?: number;
}

export interface StoreFixture {
  store: JobStore;
  /** The clock the store reads: leases, delays and retention move only when the test advances it. */
  clock: SimulatedClock;
  cleanup(): Promise<void> | void;
}

export type StoreFactory = (options: StoreFactoryOptions) => Promise<StoreFixture> | StoreFixture;

const LIMIT = 1_000;
const LEASE = 1_000;
const FAILED: SerializedError = { code: 'JOB_FAILED', message: 'boom' };

/**
 * The one suite every `JobStore` runs, so the memory store and the Redis store cannot drift
 * apart. Time is the fixture's `SimulatedClock`; signals may arrive asynchronously (a remote
 * store publishes them), so assertions on signals wait for them, bounded in real time.
 *
 * @example
 * runStoreConformance('memory', (options) => {
 *   const clock = new SimulatedClock();
 *   return { store: createMemoryStore({ ...options, clock }), clock, cleanup: () => {} };
 * });
 */
export function runStoreConformance(name: string, factory: StoreFactory): void {
  const fixtures: StoreFixture[] = [];

  afterEach(async () => {
    for (const fixture of fixtures.splice(0)) {
      await fixture.store.close();
      await fixture.cleanup();
    }
  });

  async function setup(options: StoreFactoryOptions = {}) {
    const fixture = await factory(options);
    fixtures.push(fixture);
    const { store, clock } = fixture;
    const signals = recordSignals(store);
    const claim = (owner: string, extra: Partial<ClaimRequest> = {}) => store.claim({ owner, max: 100, leaseMs: LEASE, ...extra });
    const claimOne = async (owner: string, extra: Partial<ClaimRequest> = {}): Promise<ClaimedJob> => {
      const { jobs } = await claim(owner, { ...extra, max: 1 });
      expect(jobs).toHaveLength(1);
      return jobs[0]!;
    };
    const add = async (...jobs: NewJob[]) => {
      const outcomes = await store.enqueue(jobs, { limit: LIMIT });
      for (const outcome of outcomes) expect(outcome.ok).toBe(true);
      return jobs.map((j) => j.id);
    };
    const status = async (id: string) => (await store.get(id))?.status;
    return { store, clock, signals, claim, claimOne, add, status };
  }

  describe(`JobStore conformance: ${name}`, () => {
    describe('enqueue', () => {
      it('stores a batch and returns each job when asked by id', async () => {
        const { store, clock } = await setup();
        const a = newJob({ name: 'resize', input: { w: 64, tags: ['a'] }, priority: 2, meta: { tenant: 't1' } });
        const b = newJob({ input: null });
        const outcomes = await store.enqueue([a, b], { limit: LIMIT });
        expect(outcomes).toEqual([
          { ok: true, id: a.id, created: true, status: 'queued' },
          { ok: true, id: b.id, created: true, status: 'queued' },
        ]);
        expect(await store.get(a.id)).toMatchObject({
          id: a.id,
          name: 'resize',
          status: 'queued',
          input: { w: 64, tags: ['a'] },
          priority: 2,
          attempt: 0,
          createdAt: clock.now(),
          rootId: a.id,
          parentId: undefined,
          onFailure: 'fail-parent',
          childCount: 0,
          pendingChildren: 0,
          meta: { tenant: 't1' },
          output: undefined,
          error: undefined,
        });
        expect((await store.get(b.id))?.input).toBeNull();
        expect(await store.get('no-such-job')).toBeUndefined();
        expect(await store.counts()).toMatchObject({ queued: 2, running: 0 });
      });

      it('refuses with QUEUE_FULL exactly at the bound, counting delayed jobs', async () => {
        const { store, clock } = await setup();
        const first = await store.enqueue([newJob(), newJob({ runAt: clock.now() + 5_000 })], { limit: 3 });
        expect(first.every((o) => o.ok)).toBe(true);
        const [third, fourth] = await store.enqueue([newJob(), newJob()], { limit: 3 });
        expect(third).toMatchObject({ ok: true, created: true });
        expect(fourth).toEqual({ ok: false, code: 'QUEUE_FULL' });
        expect(await store.counts()).toMatchObject({ queued: 2, delayed: 1 });
      });

      it('accepts all of an atomic batch or none of it', async () => {
        const { store } = await setup();
        await store.enqueue([newJob(), newJob()], { limit: 3 });
        const refused = [newJob(), newJob()];
        expect(await store.enqueue(refused, { limit: 3, atomic: true })).toEqual([
          { ok: false, code: 'QUEUE_FULL' },
          { ok: false, code: 'QUEUE_FULL' },
        ]);
        for (const job of refused) expect(await store.get(job.id)).toBeUndefined();
        expect(await store.counts()).toMatchObject({ queued: 2 });
        const accepted = await store.enqueue([newJob()], { limit: 3, atomic: true });
        expect(accepted[0]).toMatchObject({ ok: true, created: true });
      });

      it('does not count jobs an atomic batch finds by key against the bound', async () => {
        const { store } = await setup();
        const original = newJob({ idempotencyKey: 'k1' });
        await store.enqueue([original, newJob()], { limit: 3 });
        const outcomes = await store.enqueue([newJob({ idempotencyKey: 'k1' }), newJob()], { limit: 3, atomic: true });
        expect(outcomes[0]).toMatchObject({ ok: true, created: false, id: original.id });
        expect(outcomes[1]).toMatchObject({ ok: true, created: true });
      });

      it('returns the existing job, its name and fingerprint when an idempotency key is reused', async () => {
        const { store } = await setup();
        const original = newJob({ name: 'charge', idempotencyKey: 'order-7', fingerprint: 'f1' });
        await store.enqueue([original], { limit: LIMIT });
        const again = newJob({ name: 'other', idempotencyKey: 'order-7', fingerprint: 'f2' });
        const [outcome] = await store.enqueue([again], { limit: LIMIT });
        expect(outcome).toEqual({ ok: true, id: original.id, created: false, status: 'queued', name: 'charge', fingerprint: 'f1' });
        expect(await store.get(again.id)).toBeUndefined();
        expect(await store.get(original.id)).toMatchObject({ idempotencyKey: 'order-7' });
      });

      it('returns the existing child when a child key is reused under the same parent', async () => {
        const { store, add, claimOne } = await setup();
        const [parentId] = await add(newJob());
        await claimOne('node-a');
        const child = newJob({ parentId, childKey: 'w64', rootId: 'ignored' });
        expect((await store.enqueue([child], { limit: LIMIT }))[0]).toMatchObject({ ok: true, created: true });
        const [again] = await store.enqueue([newJob({ parentId, childKey: 'w64' })], { limit: LIMIT });
        expect(again).toMatchObject({ ok: true, created: false, id: child.id, status: 'queued' });
        const other = newJob({ parentId, childKey: 'w256' });
        expect((await store.enqueue([other], { limit: LIMIT }))[0]).toMatchObject({ ok: true, created: true });
        expect(await store.get(child.id)).toMatchObject({ parentId, rootId: parentId, childKey: 'w64' });
        expect(await store.get(parentId!)).toMatchObject({ childCount: 2, pendingChildren: 2 });
        expect((await store.children(parentId!)).map((c) => c.id)).toEqual([child.id, other.id]);
      });

      it('refuses a child whose parent is unknown or finished with JOB_NOT_FOUND', async () => {
        const { store, add, claimOne } = await setup();
        expect(await store.enqueue([newJob({ parentId: 'missing' })], { limit: LIMIT })).toEqual([{ ok: false, code: 'JOB_NOT_FOUND' }]);
        const [parentId] = await add(newJob());
        const lease = await claimOne('node-a');
        await store.settle([{ ...lease, outcome: 'completed', output: 1 }]);
        expect(await store.enqueue([newJob({ parentId })], { limit: LIMIT })).toEqual([{ ok: false, code: 'JOB_NOT_FOUND' }]);
        expect(parentId).toBeDefined();
      });
    });

    describe('claim', () => {
      it('hands out higher priorities first and equal priorities in submission order', async () => {
        const { add, claim } = await setup();
        const [low, highA, highB, mid] = await add(
          newJob({ priority: 0 }),
          newJob({ priority: 5 }),
          newJob({ priority: 5 }),
          newJob({ priority: 1 }),
        );
        const { jobs } = await claim('node-a');
        expect(jobs.map((j) => j.id)).toEqual([highA, highB, mid, low]);
      });

      it('takes at most max jobs, each under a lease with attempt and token', async () => {
        const { add, claim, clock, status } = await setup();
        const [a, b, c] = await add(newJob({ name: 'n', input: { x: 1 }, meta: { tenant: 't' } }), newJob(), newJob());
        const first = await claim('node-a', { max: 2 });
        expect(first.jobs.map((j) => j.id)).toEqual([a, b]);
        expect(first.jobs[0]).toMatchObject({
          id: a,
          name: 'n',
          input: { x: 1 },
          attempt: 1,
          priority: 0,
          parentId: undefined,
          rootId: a,
          createdAt: clock.now(),
          meta: { tenant: 't' },
        });
        expect(first.jobs[0]!.token).toBeGreaterThan(0);
        expect((await claim('node-b', { max: 2 })).jobs.map((j) => j.id)).toEqual([c]);
        expect((await claim('node-b')).jobs).toEqual([]);
        expect(await status(a!)).toBe('running');
      });

      it('takes only the job names it is given', async () => {
        const { add, claim } = await setup();
        const [, y] = await add(newJob({ name: 'x' }), newJob({ name: 'y' }));
        expect((await claim('node-a', { names: ['y', 'z'] })).jobs.map((j) => j.id)).toEqual([y]);
      });

      it('respects the capacity given per job name', async () => {
        const { add, claim } = await setup();
        await add(newJob({ name: 'x' }), newJob({ name: 'x' }), newJob({ name: 'x' }), newJob({ name: 'y' }), newJob({ name: 'y' }));
        const some = await claim('node-a', { capacity: new Map([['x', 1]]) });
        expect(some.jobs.map((j) => j.name).sort()).toEqual(['x', 'y', 'y']);
        expect((await claim('node-a', { capacity: new Map([['x', 0]]) })).jobs).toEqual([]);
        expect((await claim('node-a', { capacity: new Map([['x', 5]]) })).jobs.map((j) => j.name)).toEqual(['x', 'x']);
      });

      it('holds a delayed job until it is due and reports when that is', async () => {
        const { store, clock, claim } = await setup();
        const runAt = clock.now() + 5_000;
        const delayed = newJob({ runAt });
        expect(await store.enqueue([delayed, newJob({ runAt: clock.now() - 1 })], { limit: LIMIT })).toMatchObject([
          { ok: true, status: 'delayed' },
          { ok: true, status: 'queued' },
        ]);
        expect(await store.get(delayed.id)).toMatchObject({ status: 'delayed', runAt });
        const early = await claim('node-a');
        expect(early.jobs).toHaveLength(1);
        expect(early.nextRunAt).toBe(runAt);
        await store.settle([{ ...early.jobs[0]!, outcome: 'completed', output: null }]);
        await clock.advance(4_999);
        expect((await claim('node-a')).jobs).toEqual([]);
        await clock.advance(1);
        const due = await claim('node-a');
        expect(due.jobs.map((j) => j.id)).toEqual([delayed.id]);
        expect(due.nextRunAt).toBeUndefined();
        expect(await store.get(delayed.id)).toMatchObject({ status: 'running', runAt: undefined });
      });
    });

    describe('leases', () => {
      it('keeps a renewed lease and refuses to renew a lease it does not hold', async () => {
        const { store, clock, add, claim, claimOne } = await setup();
        const [id] = await add(newJob());
        const lease = await claimOne('node-a');
        await clock.advance(900);
        expect(await store.renew([lease, { id: id!, token: lease.token + 1 }, { id: 'missing', token: 1 }], LEASE)).toEqual([
          { held: true },
          { held: false },
          { held: false },
        ]);
        await clock.advance(900);
        expect((await claim('node-b')).jobs).toEqual([]);
        expect(await store.get(id!)).toMatchObject({ status: 'running', attempt: 1 });
      });

      it('requeues a job whose lease expired and hands it out again with a higher token', async () => {
        const { store, clock, add, claimOne } = await setup();
        const [id] = await add(newJob());
        const first = await claimOne('node-a');
        await clock.advance(LEASE);
        expect(await store.renew([first], LEASE)).toEqual([{ held: false }]);
        const second = await claimOne('node-b');
        expect(second).toMatchObject({ id, attempt: 2 });
        expect(second.token).toBeGreaterThan(first.token);
        const events = await store.events(id!, 0);
        expect(events.map((e) => e.type)).toEqual(['job.queued', 'job.started', 'job.queued', 'job.started']);
      });

      it('fences off a stale owner: its settlement is stale and changes nothing', async () => {
        const { store, clock, add, claimOne } = await setup();
        const [id] = await add(newJob());
        const first = await claimOne('node-a');
        await clock.advance(LEASE);
        const second = await claimOne('node-b');
        const before = await store.get(id!);
        expect(await store.settle([{ ...first, outcome: 'completed', output: 'old' }])).toEqual(['stale']);
        expect(await store.progress(first, 50)).toBe(false);
        expect(await store.setWaiting(first, true)).toBe(false);
        expect(await store.get(id!)).toEqual(before);
        expect(await store.settle([{ ...second, outcome: 'completed', output: 'new' }])).toEqual(['ok']);
        expect(await store.get(id!)).toMatchObject({ status: 'completed', output: 'new' });
        expect(await store.settle([{ ...second, outcome: 'completed', output: 'again' }])).toEqual(['stale']);
      });

      it('hands a node at most one job a lease loss away from quarantine; the others wait for other nodes', async () => {
        // A job that takes its node down (a crash, a blocked event loop) takes its neighbours'
        // leases with it; run side by side again, they would share its fate until all of them
        // are quarantined. With maxStalls 2, one lease loss makes a job such a suspect.
        const { clock, add, claim } = await setup({ maxStalls: 2 });
        const stalled = await add(newJob(), newJob(), newJob());
        expect((await claim('node-a')).jobs).toHaveLength(3);
        await clock.advance(LEASE);
        const [fresh] = await add(newJob());
        const second = (await claim('node-b')).jobs.map((j) => j.id);
        expect(second.filter((id) => stalled.includes(id))).toHaveLength(1);
        expect(second).toContain(fresh);
        // node-b still runs its suspect: it gets no second one, and is told to look again soon.
        const again = await claim('node-b');
        expect(again.jobs).toEqual([]);
        expect(again.nextRunAt).toBeLessThanOrEqual(clock.now() + LEASE);
        const third = (await claim('node-c')).jobs;
        const fourth = (await claim('node-d')).jobs;
        expect([...second, ...third.map((j) => j.id), ...fourth.map((j) => j.id)].filter((id) => stalled.includes(id)).sort()).toEqual(
          [...stalled].sort(),
        );
        expect([third.length, fourth.length]).toEqual([1, 1]);
        expect(third[0]!.attempt).toBe(2);
      });

      it('hands out the jobs of a node that died once all together, so its work recovers in parallel', async () => {
        const { clock, add, claim } = await setup({ maxStalls: 3 });
        const ids = await add(newJob(), newJob(), newJob());
        expect((await claim('node-a')).jobs).toHaveLength(3);
        await clock.advance(LEASE);
        expect((await claim('node-b')).jobs.map((j) => j.id).sort()).toEqual([...ids].sort());
      });

      it('fails a job with JOB_QUARANTINED once it stalled maxStalls times', async () => {
        const { store, clock, add, claim, claimOne } = await setup({ maxStalls: 2 });
        const [id] = await add(newJob());
        await claimOne('node-a');
        await clock.advance(LEASE);
        await claimOne('node-b');
        await clock.advance(LEASE);
        expect((await claim('node-c')).jobs).toEqual([]);
        const record = await store.get(id!);
        expect(record).toMatchObject({ status: 'failed', attempt: 2 });
        expect(record?.error?.code).toBe('JOB_QUARANTINED');
      });
    });

    describe('settle', () => {
      it('records completed, failed and cancelled outcomes with their time', async () => {
        const { store, clock, add, claim } = await setup();
        const [a, b, c] = await add(newJob(), newJob(), newJob());
        const { jobs } = await claim('node-a');
        await clock.advance(10);
        const cancelled: SerializedError = { code: 'JOB_CANCELLED', message: 'stop' };
        const outcomes = await store.settle([
          { ...jobs[0]!, outcome: 'completed', output: { url: 's3://x' } },
          { ...jobs[1]!, outcome: 'failed', error: FAILED },
          { ...jobs[2]!, outcome: 'cancelled', error: cancelled },
        ]);
        expect(outcomes).toEqual(['ok', 'ok', 'ok']);
        expect(await store.get(a!)).toMatchObject({
          status: 'completed',
          output: { url: 's3://x' },
          finishedAt: clock.now(),
          startedAt: clock.now() - 10,
        });
        expect(await store.get(b!)).toMatchObject({ status: 'failed', error: FAILED, output: undefined });
        expect(await store.get(c!)).toMatchObject({ status: 'cancelled', error: cancelled });
        expect(await store.counts()).toEqual({ queued: 0, delayed: 0, running: 0, waitingChildren: 0, completed: 1, failed: 1, cancelled: 1 });
      });

      it('retries a job later (delayed) or at once (queued)', async () => {
        const { store, clock, add, claim, claimOne } = await setup();
        const [later, now] = await add(newJob(), newJob());
        const { jobs } = await claim('node-a');
        const runAt = clock.now() + 2_000;
        await store.settle([
          { ...jobs[0]!, outcome: 'retry', error: FAILED, runAt },
          { ...jobs[1]!, outcome: 'retry', error: FAILED, runAt: clock.now() },
        ]);
        expect(await store.get(later!)).toMatchObject({ status: 'delayed', runAt, attempt: 1, error: FAILED });
        expect(await store.get(now!)).toMatchObject({ status: 'queued', attempt: 1 });
        const retrying = (await store.events(later!, 0)).at(-1);
        expect(retrying).toMatchObject({ type: 'job.retrying', status: 'delayed', attempt: 1, runAt, error: FAILED });
        expect(await claimOne('node-a')).toMatchObject({ id: now, attempt: 2 });
        await clock.advance(2_000);
        expect(await claimOne('node-a')).toMatchObject({ id: later, attempt: 2 });
      });
    });

    describe('cancel', () => {
      it('cancels queued and delayed jobs at once and reports settled and unknown jobs', async () => {
        const { store, clock, add, claim } = await setup();
        const [queued, delayed] = await add(newJob(), newJob({ runAt: clock.now() + 1_000 }));
        expect(await store.cancel(queued!)).toBe('cancelled');
        expect(await store.cancel(delayed!, { code: 'JOB_CANCELLED', message: 'by user' })).toBe('cancelled');
        expect(await store.get(queued!)).toMatchObject({ status: 'cancelled', error: { code: 'JOB_CANCELLED' } });
        expect((await store.get(delayed!))?.error?.message).toBe('by user');
        expect(await store.cancel(queued!)).toBe('settled');
        expect(await store.cancel('missing')).toBe('not_found');
        await clock.advance(1_000);
        expect((await claim('node-a')).jobs).toEqual([]);
        expect(await store.counts()).toMatchObject({ queued: 0, delayed: 0, cancelled: 2 });
      });

      it('asks the owner of a running job to stop, then records its cancelled settlement', async () => {
        const { store, signals, add, claimOne } = await setup();
        const [id] = await add(newJob());
        const lease = await claimOne('node-a');
        const reason: SerializedError = { code: 'JOB_CANCELLED', message: 'user asked' };
        expect(await store.cancel(id!, reason)).toBe('cancelling');
        await signals.waitFor((s) => s.type === 'job.cancel.requested' && s.id === id && s.owner === 'node-a' && s.reason.message === 'user asked');
        expect(await store.get(id!)).toMatchObject({ status: 'running' });
        expect(await store.settle([{ ...lease, outcome: 'cancelled', error: reason }])).toEqual(['ok']);
        expect(await store.get(id!)).toMatchObject({ status: 'cancelled', error: reason });
      });

      it('ends a cancel-requested job as cancelled even when its owner asks for a retry', async () => {
        const { store, clock, add, claimOne } = await setup();
        const [id] = await add(newJob());
        const lease = await claimOne('node-a');
        await store.cancel(id!);
        await store.settle([{ ...lease, outcome: 'retry', error: FAILED, runAt: clock.now() }]);
        expect(await store.get(id!)).toMatchObject({ status: 'cancelled', error: { code: 'JOB_CANCELLED' } });
      });

      it('cascades over the whole subtree', async () => {
        const { store, signals, add, claimOne } = await setup();
        const [rootId] = await add(newJob({ name: 'root' }));
        await claimOne('node-a');
        const [queuedChild, runningChild] = await add(newJob({ name: 'leaf', parentId: rootId }), newJob({ name: 'mid', parentId: rootId }));
        await claimOne('node-b', { names: ['mid'] });
        const [grandchild] = await add(newJob({ name: 'leaf', parentId: runningChild }));
        expect(await store.cancel(rootId!)).toBe('cancelling');
        expect(await store.get(queuedChild!)).toMatchObject({ status: 'cancelled' });
        expect(await store.get(grandchild!)).toMatchObject({ status: 'cancelled', rootId });
        expect(await store.get(runningChild!)).toMatchObject({ status: 'running' });
        await signals.waitFor((s) => s.type === 'job.cancel.requested' && s.id === runningChild && s.owner === 'node-b');
        await signals.waitFor((s) => s.type === 'job.cancel.requested' && s.id === rootId && s.owner === 'node-a');
      });

      it('cancels the unfinished children of a parent that failed', async () => {
        const { store, signals, add, claimOne } = await setup();
        const [parentId] = await add(newJob({ name: 'parent' }));
        const parentLease = await claimOne('node-a');
        const [queued, running, done] = await add(newJob({ name: 'q', parentId }), newJob({ name: 'r', parentId }), newJob({ name: 'd', parentId }));
        await claimOne('node-b', { names: ['r'] });
        const doneLease = await claimOne('node-b', { names: ['d'] });
        await store.settle([{ ...doneLease, outcome: 'completed', output: 1 }]);
        expect(await store.get(parentId!)).toMatchObject({ childCount: 3, pendingChildren: 2 });
        await store.settle([{ ...parentLease, outcome: 'failed', error: FAILED }]);
        expect(await store.get(queued!)).toMatchObject({ status: 'cancelled', error: { code: 'JOB_CANCELLED' } });
        expect(await store.get(done!)).toMatchObject({ status: 'completed' });
        await signals.waitFor((s) => s.type === 'job.cancel.requested' && s.id === running && s.owner === 'node-b');
      });
    });

    describe('tree order', () => {
      it('holds back the outcome of a parent until its last child settles', async () => {
        const { store, add, claimOne } = await setup();
        const [parentId] = await add(newJob({ name: 'parent' }));
        const parentLease = await claimOne('node-a');
        const [childId] = await add(newJob({ name: 'child', parentId }));
        const childLease = await claimOne('node-b', { names: ['child'] });
        await store.settle([{ ...parentLease, outcome: 'failed', error: FAILED }]);
        // Failed, but not before its running child: it waits, and its child is asked to stop.
        expect(await store.get(parentId!)).toMatchObject({ status: 'waitingChildren', pendingChildren: 1 });
        expect(await store.get(childId!)).toMatchObject({ status: 'running' });
        await store.settle([{ ...childLease, outcome: 'cancelled', error: { code: 'JOB_CANCELLED', message: 'parent failed' } }]);
        expect(await store.get(parentId!)).toMatchObject({ status: 'failed', error: { code: 'JOB_FAILED' } });
        const childEnd = (await store.events(childId!, 0)).at(-1)!;
        const parentEnd = (await store.events(parentId!, 0)).at(-1)!;
        expect(childEnd.type).toBe('job.cancelled');
        expect(parentEnd.type).toBe('job.failed');
        expect(parentEnd.at).toBeGreaterThanOrEqual(childEnd.at);
      });

      it('lets the children of a parent that completed early finish, then completes it', async () => {
        const { store, add, claimOne } = await setup();
        const [parentId] = await add(newJob({ name: 'parent' }));
        const parentLease = await claimOne('node-a');
        const [childId] = await add(newJob({ name: 'child', parentId }));
        await store.settle([{ ...parentLease, outcome: 'completed', output: 'early' }]);
        expect(await store.get(parentId!)).toMatchObject({ status: 'waitingChildren' });
        const childLease = await claimOne('node-b', { names: ['child'] });
        expect(childLease.id).toBe(childId);
        await store.settle([{ ...childLease, outcome: 'completed', output: 1 }]);
        expect(await store.get(parentId!)).toMatchObject({ status: 'completed', output: 'early' });
      });

      it('keeps the outcome of a parent that ended early when it is cancelled while it waits', async () => {
        const { store, signals, add, claimOne } = await setup();
        const [parentId] = await add(newJob({ name: 'parent' }));
        const parentLease = await claimOne('node-a');
        const [childId] = await add(newJob({ name: 'child', parentId }));
        const childLease = await claimOne('node-b', { names: ['child'] });
        await store.settle([{ ...parentLease, outcome: 'completed', output: 'early' }]);
        // No longer held by its node: nothing of the old attempt can touch it.
        expect(await store.renew([parentLease], LEASE)).toEqual([{ held: false }]);
        expect(await store.cancel(parentId!)).toBe('cancelling');
        await signals.waitFor((s) => s.type === 'job.cancel.requested' && s.id === childId && s.owner === 'node-b');
        await store.settle([{ ...childLease, outcome: 'cancelled', error: { code: 'JOB_CANCELLED', message: 'x' } }]);
        expect(await store.get(parentId!)).toMatchObject({ status: 'completed', output: 'early' });
      });
    });

    describe('declared trees', () => {
      async function declareTree(onFailure: NewJob['onFailure'] = 'fail-parent') {
        const ctx = await setup();
        const parent = newJob({ name: 'parent', awaitChildren: 2 });
        const children = [newJob({ name: 'child', parentId: parent.id, onFailure }), newJob({ name: 'child', parentId: parent.id, onFailure })];
        const outcomes = await ctx.store.enqueue([parent, ...children], { limit: LIMIT, atomic: true });
        expect(outcomes.map((o) => o.ok && o.status)).toEqual(['waitingChildren', 'queued', 'queued']);
        return { ...ctx, parentId: parent.id, childIds: children.map((c) => c.id) };
      }

      it('queues the parent once all its children settled', async () => {
        const { store, signals, claim, parentId, childIds } = await declareTree();
        expect(await store.get(parentId)).toMatchObject({ status: 'waitingChildren', childCount: 2, pendingChildren: 2 });
        expect(await store.counts()).toMatchObject({ waitingChildren: 1, queued: 2 });
        const { jobs } = await claim('node-a');
        expect(jobs.map((j) => j.id)).toEqual(childIds);
        expect(jobs[0]).toMatchObject({ parentId, rootId: parentId });
        await store.settle([{ ...jobs[0]!, outcome: 'completed', output: 1 }]);
        expect(await store.get(parentId)).toMatchObject({ status: 'waitingChildren', pendingChildren: 1 });
        signals.clear();
        await store.settle([{ ...jobs[1]!, outcome: 'completed', output: 2 }]);
        expect(await store.get(parentId)).toMatchObject({ status: 'queued', pendingChildren: 0 });
        await signals.waitFor((s) => s.type === 'work.available');
        expect((await claim('node-a')).jobs.map((j) => j.id)).toEqual([parentId]);
      });

      it("fails the parent with CHILD_FAILED under 'fail-parent' and cancels its other children", async () => {
        const { store, claimOne, parentId, childIds } = await declareTree('fail-parent');
        const first = await claimOne('node-a');
        await store.settle([{ ...first, outcome: 'failed', error: FAILED }]);
        const parent = await store.get(parentId);
        expect(parent).toMatchObject({ status: 'failed', error: { code: 'CHILD_FAILED', details: { childId: childIds[0] } } });
        expect(await store.get(childIds[1]!)).toMatchObject({ status: 'cancelled' });
      });

      it("runs the parent anyway when failed children are 'continue' or 'ignore'", async () => {
        for (const policy of ['continue', 'ignore'] as const) {
          const { store, claim, parentId } = await declareTree(policy);
          const { jobs } = await claim('node-a', { names: ['child'] });
          await store.settle([
            { ...jobs[0]!, outcome: 'failed', error: FAILED },
            { ...jobs[1]!, outcome: 'cancelled', error: { code: 'JOB_CANCELLED', message: 'x' } },
          ]);
          expect(await store.get(parentId)).toMatchObject({ status: 'queued', pendingChildren: 0 });
        }
      });

      it('cancels the waiting parent and its children together', async () => {
        const { store, parentId, childIds } = await declareTree();
        expect(await store.cancel(parentId)).toBe('cancelled');
        for (const id of childIds) expect(await store.get(id)).toMatchObject({ status: 'cancelled' });
        expect(await store.counts()).toMatchObject({ waitingChildren: 0, queued: 0, cancelled: 3 });
      });
    });

    describe('held jobs', () => {
      it('moves a held job between running and waitingChildren', async () => {
        const { store, add, claimOne, status } = await setup();
        const [id] = await add(newJob());
        const lease = await claimOne('node-a');
        expect(await store.setWaiting(lease, true)).toBe(true);
        expect(await status(id!)).toBe('waitingChildren');
        expect(await store.counts()).toMatchObject({ running: 0, waitingChildren: 1 });
        expect(await store.renew([lease], LEASE)).toEqual([{ held: true }]);
        expect(await store.setWaiting(lease, false)).toBe(true);
        expect(await status(id!)).toBe('running');
        expect(await store.setWaiting({ id: id!, token: lease.token + 1 }, true)).toBe(false);
        const types = (await store.events(id!, 0)).map((e) => e.type);
        expect(types).toEqual(['job.queued', 'job.started', 'job.waiting', 'job.started']);
      });

      it('records and publishes progress of a held job', async () => {
        const { store, signals, add, claimOne } = await setup();
        const [id] = await add(newJob());
        const lease = await claimOne('node-a');
        expect(await store.progress(lease, { done: 3, of: 10 })).toBe(true);
        expect(await store.get(id!)).toMatchObject({ progress: { done: 3, of: 10 } });
        await signals.waitFor((s) => s.type === 'job.event' && s.event.type === 'job.progress' && s.event.id === id);
        expect(await store.progress({ id: 'missing', token: 1 }, 1)).toBe(false);
      });
    });

    describe('events', () => {
      it('numbers a job’s events from 1 and resumes after a given seq', async () => {
        const { store, clock, add, claimOne } = await setup();
        const [id] = await add(newJob({ name: 'n' }));
        const enqueuedAt = clock.now();
        const lease = await claimOne('node-a');
        await clock.advance(5);
        await store.settle([{ ...lease, outcome: 'completed', output: { ok: true } }]);
        const events = await store.events(id!, 0);
        expect(events).toEqual([
          { type: 'job.queued', status: 'queued', id, name: 'n', seq: 1, at: enqueuedAt, parentId: undefined, rootId: id },
          { type: 'job.started', status: 'running', attempt: 1, id, name: 'n', seq: 2, at: enqueuedAt, parentId: undefined, rootId: id },
          {
            type: 'job.completed',
            status: 'completed',
            output: { ok: true },
            id,
            name: 'n',
            seq: 3,
            at: clock.now(),
            parentId: undefined,
            rootId: id,
          },
        ]);
        expect((await store.events(id!, 2)).map((e) => e.seq)).toEqual([3]);
        expect(await store.events(id!, 3)).toEqual([]);
        expect(await store.events('missing', 0)).toEqual([]);
      });

      it('keeps only the newest eventsPerJob events of a job', async () => {
        const { store, add, claimOne } = await setup({ eventsPerJob: 3 });
        const [id] = await add(newJob());
        const lease = await claimOne('node-a');
        for (let i = 1; i <= 4; i++) await store.progress(lease, i);
        const events = await store.events(id!, 0);
        expect(events.map((e) => e.seq)).toEqual([4, 5, 6]);
        expect(events.at(-1)).toMatchObject({ type: 'job.progress', progress: 4 });
      });
    });

    describe('subscribe', () => {
      it('signals work and job events naming the parent and the root', async () => {
        const { store, signals, add, claimOne } = await setup();
        const [rootId] = await add(newJob());
        await signals.waitFor((s) => s.type === 'work.available');
        await claimOne('node-a');
        const [childId] = await add(newJob({ parentId: rootId }));
        const event = await signals.waitFor((s) => s.type === 'job.event' && s.event.id === childId);
        expect(event).toMatchObject({ type: 'job.event', event: { type: 'job.queued', parentId: rootId, rootId } });
        expect(store.durable).toBeTypeOf('boolean');
      });
    });

    describe('retention', () => {
      async function finishRoot(ctx: Awaited<ReturnType<typeof setup>>, job: NewJob, ...children: NewJob[]) {
        await ctx.add(job);
        const lease = await ctx.claimOne('node-a', { names: [job.name] });
        if (children.length > 0) {
          await ctx.add(...children.map((c) => ({ ...c, parentId: job.id })));
          const { jobs } = await ctx.claim('node-a', { names: [children[0]!.name] });
          await ctx.store.settle(jobs.map((j) => ({ ...j, outcome: 'completed' as const, output: null })));
        }
        await ctx.store.settle([{ ...lease, outcome: 'completed', output: null }]);
        await ctx.clock.advance(1);
      }

      it('drops the oldest finished trees past the count, freeing their idempotency keys', async () => {
        const ctx = await setup({ retention: { count: 2 } });
        const first = newJob({ name: 'root', idempotencyKey: 'k1', meta: { blob: 'b1' } });
        const child = newJob({ name: 'leaf' });
        await finishRoot(ctx, first, child);
        await finishRoot(ctx, newJob({ name: 'root' }));
        expect(await ctx.store.get(first.id)).toBeDefined();
        await finishRoot(ctx, newJob({ name: 'root' }));
        expect(await ctx.store.get(first.id)).toBeUndefined();
        expect(await ctx.store.get(child.id)).toBeUndefined();
        expect(await ctx.store.events(first.id, 0)).toEqual([]);
        await ctx.signals.waitFor((s) => s.type === 'job.dropped' && s.id === first.id && s.meta?.['blob'] === 'b1');
        await ctx.signals.waitFor((s) => s.type === 'job.dropped' && s.id === child.id);
        expect(await ctx.store.counts()).toMatchObject({ completed: 2 });
        const [again] = await ctx.store.enqueue([newJob({ idempotencyKey: 'k1' })], { limit: LIMIT });
        expect(again).toMatchObject({ ok: true, created: true });
      });

      it('drops finished trees older than the age', async () => {
        const ctx = await setup({ retention: { ageMs: 1_000 } });
        const job = newJob({ name: 'root' });
        await finishRoot(ctx, job);
        await ctx.clock.advance(998);
        await ctx.claim('node-a');
        expect(await ctx.store.get(job.id)).toBeDefined();
        await ctx.clock.advance(1);
        await ctx.claim('node-a');
        expect(await ctx.store.get(job.id)).toBeUndefined();
        expect(await ctx.store.counts()).toMatchObject({ completed: 0 });
      });
    });
  });
}

let serial = 0;

/** A ready-to-run job with a unique id; tests override only what they are about. */
function newJob(overrides: Partial<NewJob> = {}): NewJob {
  return { id: `job-${++serial}-${randomUUID().slice(0, 8)}`, name: 'noop', input: {}, priority: 0, ...overrides };
}

/** Keeps every signal a store sends; `waitFor` tolerates stores that deliver them asynchronously. */
function recordSignals(store: JobStore) {
  const seen: StoreSignal[] = [];
  store.subscribe((signal) => seen.push(signal));
  return {
    seen,
    clear: () => void seen.splice(0),
    async waitFor(predicate: (signal: StoreSignal) => boolean, timeoutMs = 5_000): Promise<StoreSignal> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = seen.find(predicate);
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(`no matching signal within ${timeoutMs} ms; saw ${JSON.stringify(seen.map(describeSignal))}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
}

function describeSignal(signal: StoreSignal): string {
  return signal.type === 'job.event' ? `${signal.event.type}:${signal.event.id}` : signal.type;
}
