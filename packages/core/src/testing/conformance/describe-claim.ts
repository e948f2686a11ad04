import { describe, expect, it } from 'vitest';
import { LIMIT, newJob, type ConformanceSetup } from './store-fixture.js';

/** Handing out ready jobs: order, batch size, names, capacity, delays. */
export function describeClaim(setup: ConformanceSetup): void {
  describe('claim', () => {
    it('hands out higher priorities first and equal priorities in submission order', async () => {
      const { add, claim } = await setup();
      const [low, highA, highB, mid] = await add(newJob({ priority: 0 }), newJob({ priority: 5 }), newJob({ priority: 5 }), newJob({ priority: 1 }));
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
}
