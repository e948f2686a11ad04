import { describe, expect, it } from 'vitest';
import type { FlowControl } from '../../store/job-store.js';
import { newJob, type ConformanceSetup } from './store-fixture.js';

const perName = (rate: NonNullable<FlowControl['rate']>, name = 'api'): Map<string, FlowControl> => new Map([[name, { rate }]]);

/** Rate limits held by the store at claim time, and push-backs (`ctx.rateLimited`), per name and per key. */
export function describeRateLimits(setup: ConformanceSetup): void {
  describe('rate limits', () => {
    it('hands out at most max jobs of a name per window, whichever node claims, and says when the next may go', async ({ skip }) => {
      const { add, claim, clock, needs } = await setup();
      needs(skip, 'rateLimits');
      await add(...Array.from({ length: 10 }, () => newJob({ name: 'api' })));
      const flow = perName({ max: 3, perMs: 1_000, perKey: false });
      const t0 = clock.now();
      const first = await claim('node-a', { flow });
      expect(first.jobs).toHaveLength(3);
      // A bucket of 3 refilling one job every 333.3 ms: the next goes at +334 (whole ms, up).
      expect(first.nextRunAt).toBe(t0 + 334);
      expect((await claim('node-b', { flow })).jobs).toEqual([]);
      await clock.advance(333);
      expect((await claim('node-b', { flow })).jobs).toEqual([]);
      await clock.advance(1);
      expect((await claim('node-b', { flow })).jobs).toHaveLength(1);
      await clock.advance(5_000);
      // Refilled to its size, never past it.
      expect((await claim('node-a', { flow })).jobs).toHaveLength(3);
    });

    it('leaves a held-back job queued with no attempt counted, and other names free', async ({ skip }) => {
      const { add, claim, store, needs } = await setup();
      needs(skip, 'rateLimits');
      const [a, b, other] = await add(newJob({ name: 'api' }), newJob({ name: 'api' }), newJob({ name: 'other' }));
      const flow = perName({ max: 1, perMs: 60_000, perKey: false });
      const { jobs } = await claim('node-a', { flow });
      expect(jobs.map((j) => j.id).sort()).toEqual([a, other].sort());
      expect(await store.get(b!)).toMatchObject({ status: 'queued', attempt: 0 });
    });

    it('limits each flow key on its own when the limit is per key', async ({ skip }) => {
      const { add, claim, needs } = await setup();
      needs(skip, 'rateLimits');
      await add(...['a', 'a', 'a', 'b', 'b', 'b'].map((key) => newJob({ name: 'api', key })));
      const flow = perName({ max: 2, perMs: 1_000, perKey: true });
      const { jobs } = await claim('node-a', { flow });
      expect(jobs).toHaveLength(4);
      expect((await claim('node-b', { flow })).jobs).toEqual([]);
    });

    it('holds back the whole name after a push-back, and requeues the job without counting its attempt', async ({ skip }) => {
      const { add, claim, claimOne, store, clock, needs } = await setup();
      needs(skip, 'rateLimits');
      const [first, second] = await add(newJob({ name: 'api' }), newJob({ name: 'api' }));
      const job = await claimOne('node-a');
      expect(job.id).toBe(first);
      const until = clock.now() + 5_000;
      expect(await store.settle([{ id: job.id, token: job.token, outcome: 'released', pushBack: { until } }])).toEqual(['ok']);
      expect(await store.get(first!)).toMatchObject({ status: 'queued', attempt: 0 });
      const held = await claim('node-b');
      expect(held.jobs).toEqual([]);
      expect(held.nextRunAt).toBe(until);
      await clock.advance(5_000);
      const after = await claim('node-b');
      expect(after.jobs.map((j) => j.id).sort()).toEqual([first, second].sort());
      expect(after.jobs.find((j) => j.id === first)?.attempt).toBe(1);
    });

    it('holds back only one key after a push-back of that key', async ({ skip }) => {
      const { add, claim, claimOne, store, clock, needs } = await setup();
      needs(skip, 'rateLimits');
      const [a, , b] = await add(newJob({ name: 'api', key: 'a' }), newJob({ name: 'api', key: 'a' }), newJob({ name: 'api', key: 'b' }));
      // Keys are pushed back for a name limited per key (the runtime sends a key only then).
      const flow = perName({ max: 100, perMs: 1_000, perKey: true });
      const job = await claimOne('node-a', { flow });
      expect(job.id).toBe(a);
      await store.settle([{ id: job.id, token: job.token, outcome: 'released', pushBack: { key: 'a', until: clock.now() + 1_000 } }]);
      const { jobs } = await claim('node-b', { flow });
      expect(jobs.map((j) => j.id)).toEqual([b]);
      await store.settle([{ ...jobs[0]!, outcome: 'completed', output: null }]);
      await clock.advance(1_000);
      expect((await claim('node-b', { flow })).jobs).toHaveLength(2);
    });
  });
}
