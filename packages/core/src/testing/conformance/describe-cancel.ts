import { describe, expect, it } from 'vitest';
import type { SerializedError } from '../../errors.js';
import { FAILED, LEASE, newJob, type ConformanceSetup } from './store-fixture.js';

/** Cancelling queued, delayed and running jobs, and whole subtrees. */
export function describeCancel(setup: ConformanceSetup): void {
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

    it('answers cancelling for a held parent waiting for its children; it stays waitingChildren until its owner settles it', async () => {
      // Both stores answer the same (issue 13 item 15): a job some node holds is `cancelling`,
      // and keeps its status until that node settles it; its children are cancelled now.
      const { store, signals, add, claimOne } = await setup();
      const [parentId] = await add(newJob({ name: 'parent' }));
      const lease = await claimOne('node-a');
      const [childId] = await add(newJob({ name: 'child', parentId }));
      expect(await store.setWaiting(lease, true)).toBe(true);
      expect(await store.cancel(parentId!)).toBe('cancelling');
      expect(await store.get(parentId!)).toMatchObject({ status: 'waitingChildren' });
      expect(await store.get(childId!)).toMatchObject({ status: 'cancelled' });
      await signals.waitFor((s) => s.type === 'job.cancel.requested' && s.id === parentId && s.owner === 'node-a');
      expect(await store.cancel(parentId!)).toBe('cancelling');
      expect(await store.settle([{ ...lease, outcome: 'cancelled', error: { code: 'JOB_CANCELLED', message: 'stopped' } }])).toEqual(['ok']);
      expect(await store.get(parentId!)).toMatchObject({ status: 'cancelled' });
      expect(await store.cancel(parentId!)).toBe('settled');
    });

    it('ends a cancel-requested job as cancelled even when its owner asks for a retry', async () => {
      const { store, clock, add, claimOne } = await setup();
      const [id] = await add(newJob());
      const lease = await claimOne('node-a');
      await store.cancel(id!);
      await store.settle([{ ...lease, outcome: 'retry', error: FAILED, runAt: clock.now() }]);
      expect(await store.get(id!)).toMatchObject({ status: 'cancelled', error: { code: 'JOB_CANCELLED' } });
    });

    it('ends a cancel-requested parent as cancelled, with the cancel reason, when its owner settles it failed', async () => {
      // The cancel's cascade settles the children first; a node that hears of a child's
      // cancellation before its own cancel fails the parent with CHILD_FAILED ('fail-parent').
      // That failure is the cancel's doing: the record says cancelled (issue 13, chaos
      // subscriber-kill).
      const { store, add, claimOne } = await setup();
      const [parentId] = await add(newJob({ name: 'parent' }));
      const lease = await claimOne('node-a');
      const [childId] = await add(newJob({ name: 'child', parentId }));
      expect(await store.setWaiting(lease, true)).toBe(true);
      const reason: SerializedError = { code: 'JOB_CANCELLED', message: 'user asked' };
      expect(await store.cancel(parentId!, reason)).toBe('cancelling');
      expect(await store.get(childId!)).toMatchObject({ status: 'cancelled' });
      const childFailed: SerializedError = { code: 'CHILD_FAILED', message: 'a child was cancelled' };
      expect(await store.settle([{ ...lease, outcome: 'failed', error: childFailed }])).toEqual(['ok']);
      expect(await store.get(parentId!)).toMatchObject({ status: 'cancelled', error: reason });
      expect(await store.counts()).toMatchObject({ failed: 0, cancelled: 2, waitingChildren: 0, running: 0 });
    });

    it('ends a cancel-requested job as cancelled when its owner settles it failed', async () => {
      const { store, add, claimOne } = await setup();
      const [id] = await add(newJob());
      const lease = await claimOne('node-a');
      expect(await store.cancel(id!)).toBe('cancelling');
      expect(await store.settle([{ ...lease, outcome: 'failed', error: FAILED }])).toEqual(['ok']);
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

    it('settles a cancel-requested job whose lease ran out as cancelled instead of handing it out', async () => {
      const { store, clock, add, claim, claimOne } = await setup();
      const [id, other] = await add(newJob({ priority: 1 }), newJob());
      await claimOne('node-a');
      const reason: SerializedError = { code: 'JOB_CANCELLED', message: 'user asked' };
      expect(await store.cancel(id!, reason)).toBe('cancelling');
      await clock.advance(LEASE);
      expect((await claim('node-b')).jobs.map((j) => j.id)).toEqual([other]);
      expect(await store.get(id!)).toMatchObject({ status: 'cancelled', error: reason, attempt: 1 });
      expect(await store.counts()).toMatchObject({ running: 1, cancelled: 1, queued: 0 });
    });
  });
}
