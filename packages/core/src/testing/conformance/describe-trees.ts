import { describe, expect, it } from 'vitest';
import type { NewJob } from '../../store/job-store.js';
import { FAILED, LEASE, LIMIT, newJob, type ConformanceSetup } from './store-fixture.js';

/** Job trees: a parent settles after its children; declared trees are run by the store. */
export function describeTrees(setup: ConformanceSetup): void {
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

  describe('spawn fencing', () => {
    it('refuses with LEASE_LOST a spawn from an attempt that no longer holds its parent', async ({ skip }) => {
      const { store, clock, add, claimOne, needs } = await setup();
      needs(skip, 'parentToken');
      const [parentId] = await add(newJob({ name: 'parent' }));
      const first = await claimOne('node-a');
      const spawn = async (token: number) => (await store.enqueue([newJob({ name: 'child', parentId, parentToken: token })], { limit: LIMIT }))[0];
      expect(await spawn(first.token)).toMatchObject({ ok: true, created: true });
      // Lapsed, not yet claimed again: the old attempt no longer holds it.
      await clock.advance(LEASE);
      expect(await spawn(first.token)).toEqual({ ok: false, code: 'LEASE_LOST' });
      const second = await claimOne('node-b', { names: ['parent'] });
      expect(await spawn(first.token)).toEqual({ ok: false, code: 'LEASE_LOST' });
      expect(await spawn(second.token)).toMatchObject({ ok: true, created: true });
      expect(await store.get(parentId!)).toMatchObject({ childCount: 2, pendingChildren: 2 });
      // Settled (it now only waits for its children): no attempt holds it any more.
      await store.settle([{ ...second, outcome: 'completed', output: null }]);
      expect(await store.get(parentId!)).toMatchObject({ status: 'waitingChildren' });
      expect(await spawn(second.token)).toEqual({ ok: false, code: 'LEASE_LOST' });
      expect(await store.get(parentId!)).toMatchObject({ childCount: 2 });
      // An unknown parent is still JOB_NOT_FOUND, whatever the token.
      expect((await store.enqueue([newJob({ parentId: 'missing', parentToken: 1 })], { limit: LIMIT }))[0]).toEqual({
        ok: false,
        code: 'JOB_NOT_FOUND',
      });
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
}
