import { describe, expect, it } from 'vitest';
import type { SerializedError } from '../../errors.js';
import { LEASE, newJob, type ConformanceSetup } from './store-fixture.js';

/** Leases and fencing: renewals, expiry, stale owners, quarantine, and what a held job may do. */
export function describeLeases(setup: ConformanceSetup): void {
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
      expect(types).toEqual(['job.queued', 'job.started', 'job.waiting', 'job.resumed']);
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

    it('reports a pending cancel in the renewal of a held job', async ({ skip }) => {
      const { store, add, claim, needs } = await setup();
      needs(skip, 'renewCancel');
      const [id] = await add(newJob(), newJob());
      const [cancelled, other] = (await claim('node-a')).jobs;
      const reason: SerializedError = { code: 'JOB_CANCELLED', message: 'user asked' };
      expect(await store.cancel(id!, reason)).toBe('cancelling');
      // The signal may be lost; the record is not, and the renewal reads it.
      expect(await store.renew([cancelled!, other!], LEASE)).toEqual([{ held: true, cancel: reason }, { held: true }]);
      expect(await store.renew([cancelled!], LEASE)).toEqual([{ held: true, cancel: reason }]);
    });
  });
}
