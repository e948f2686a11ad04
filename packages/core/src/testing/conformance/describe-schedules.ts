import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { JobStore } from '../../store/job-store.js';
import type { ScheduleDefinition, ScheduleFire, ScheduleRecord, ScheduleStore } from '../../store/schedule-store.js';
import { LIMIT, newJob, type ConformanceSetup } from './store-fixture.js';

/**
 * Schedules: upsert by key, the listing by next tick, and the fire that lets exactly one node
 * take a tick, enqueueing its job in the same step. Nodes are played by concurrent calls.
 */
export function describeSchedules(setup: ConformanceSetup): void {
  describe('schedules', () => {
    it('creates a schedule, keeps it when declared again unchanged, and replaces it when changed', async ({ skip }) => {
      const { store, clock, needs } = await setup();
      needs(skip, 'schedules');
      const s = schedulesOf(store);
      const created = await s.upsertSchedule(definition('nightly', { nextAt: clock.now() + 1_000 }));
      expect(created).toMatchObject({ ok: true, created: true, record: { key: 'nightly', version: 1, nextAt: clock.now() + 1_000 } });
      await clock.advance(100);
      // Another node starting later declares the same schedule: its next tick is computed later but not taken.
      const again = await s.upsertSchedule(definition('nightly', { nextAt: clock.now() + 5_000 }));
      expect(again).toMatchObject({ ok: true, created: false, record: { version: 1, nextAt: clock.now() + 900 } });
      const changed = await s.upsertSchedule(definition('nightly', { input: { v: 2 }, nextAt: clock.now() + 2_000 }));
      expect(changed).toMatchObject({ ok: true, created: false, record: { version: 2, input: { v: 2 }, nextAt: clock.now() + 2_000 } });
      const [listed] = await s.schedules({ limit: 10 });
      expect(listed).toEqual((changed as { record: ScheduleRecord }).record);
      expect(listed).toMatchObject({ name: 'noop', every: { everyMs: 1_000 }, policy: { missed: 'skip', overlap: 'allow', graceMs: 10_000 } });
    });

    it('lists by next tick then key, only what is due by a time when asked, within the limit', async ({ skip }) => {
      const { store, clock, needs } = await setup();
      needs(skip, 'schedules');
      const s = schedulesOf(store);
      const now = clock.now();
      await s.upsertSchedule(definition('c', { nextAt: now + 3_000 }));
      await s.upsertSchedule(definition('b', { nextAt: now + 1_000 }));
      await s.upsertSchedule(definition('a', { nextAt: now + 1_000 }));
      const keys = async (query: { dueBy?: number; limit: number }) => (await s.schedules(query)).map((r) => r.key);
      expect(await keys({ limit: 10 })).toEqual(['a', 'b', 'c']);
      expect(await keys({ dueBy: now + 2_000, limit: 10 })).toEqual(['a', 'b']);
      expect(await keys({ limit: 1 })).toEqual(['a']);
      expect(await keys({ dueBy: now, limit: 10 })).toEqual([]);
      expect(await s.removeSchedule('b')).toBe(true);
      expect(await s.removeSchedule('b')).toBe(false);
      expect(await keys({ limit: 10 })).toEqual(['a', 'c']);
    });

    it('lets exactly one of several nodes take a tick, and enqueues its job in the same step', async ({ skip }) => {
      const { store, clock, needs, signals } = await setup();
      needs(skip, 'schedules');
      const s = schedulesOf(store);
      const at = clock.now() + 1_000;
      const { record } = (await s.upsertSchedule(definition('tick', { nextAt: at, input: { n: 1 }, meta: { tenant: 't1' } }))) as {
        record: ScheduleRecord;
      };
      await clock.advance(1_000);
      signals.clear();
      const plans = Array.from({ length: 5 }, () => plan(store, record, { at, nextAt: at + 1_000 }));
      const outcomes = (await Promise.all(plans.map((fire) => s.fireSchedules([fire], { limit: LIMIT })))).flat();
      const fired = outcomes.filter((o) => o.outcome === 'fired');
      expect(fired).toHaveLength(1);
      expect(outcomes.filter((o) => o.outcome === 'stale')).toHaveLength(4);
      const id = (fired[0] as { id: string }).id;
      expect(plans.map((p) => p.id)).toContain(id);
      expect(await store.get(id)).toMatchObject({ name: 'noop', status: 'queued', input: { n: 1 }, meta: { tenant: 't1', schedule: 'tick' } });
      expect(await s.schedules({ limit: 10 })).toMatchObject([{ key: 'tick', nextAt: at + 1_000, lastAt: at, lastJobId: id, version: 1 }]);
      expect(await store.counts()).toMatchObject({ queued: 1 });
      await signals.waitFor((signal) => signal.type === 'work.available');
    });

    it('takes nothing for a plan made from an older version, or for a schedule that is gone', async ({ skip }) => {
      const { store, clock, needs } = await setup();
      needs(skip, 'schedules');
      const s = schedulesOf(store);
      const at = clock.now() + 1_000;
      const first = (await s.upsertSchedule(definition('v', { nextAt: at }))) as { record: ScheduleRecord };
      await s.upsertSchedule(definition('v', { nextAt: at, input: { changed: true } }));
      await clock.advance(1_000);
      expect(await s.fireSchedules([plan(store, first.record, { at, nextAt: at + 1_000 })], { limit: LIMIT })).toEqual([{ outcome: 'stale' }]);
      const [current] = await s.schedules({ limit: 10 });
      await s.removeSchedule('v');
      expect(await s.fireSchedules([plan(store, current!, { at, nextAt: at + 1_000 })], { limit: LIMIT })).toEqual([{ outcome: 'stale' }]);
      expect(await store.counts()).toMatchObject({ queued: 0 });
    });

    it('passes a tick over without a job when told not to run it', async ({ skip }) => {
      const { store, clock, needs } = await setup();
      needs(skip, 'schedules');
      const s = schedulesOf(store);
      const at = clock.now() + 1_000;
      const { record } = (await s.upsertSchedule(definition('missed', { nextAt: at }))) as { record: ScheduleRecord };
      await clock.advance(60_000);
      const fire = { ...plan(store, record, { at, nextAt: clock.now() + 1_000 }), run: false };
      expect(await s.fireSchedules([fire], { limit: LIMIT })).toEqual([{ outcome: 'skipped' }]);
      expect(await s.schedules({ limit: 10 })).toMatchObject([{ nextAt: clock.now() + 1_000, lastAt: at, lastJobId: undefined }]);
      expect(await store.counts()).toMatchObject({ queued: 0 });
    });

    it("skips a tick while the previous run has not ended under overlap 'skip', and runs again once it has", async ({ skip }) => {
      const { store, clock, needs, claimOne } = await setup();
      needs(skip, 'schedules');
      const s = schedulesOf(store);
      let at = clock.now() + 1_000;
      const policy = { missed: 'skip', overlap: 'skip', graceMs: 10_000 } as const;
      const { record } = (await s.upsertSchedule(definition('single', { nextAt: at, policy }))) as { record: ScheduleRecord };
      const fire = async () => {
        await clock.advance(1_000);
        const outcome = await s.fireSchedules([plan(store, record, { at, nextAt: at + 1_000 })], { limit: LIMIT });
        at += 1_000;
        return outcome[0];
      };
      expect(await fire()).toMatchObject({ outcome: 'fired' });
      expect(await fire()).toEqual({ outcome: 'skipped' });
      const lease = await claimOne('node-a');
      expect(await fire()).toEqual({ outcome: 'skipped' });
      await store.settle([{ ...lease, outcome: 'completed', output: null }]);
      expect(await fire()).toMatchObject({ outcome: 'fired' });
      expect(await store.counts()).toMatchObject({ queued: 1, completed: 1 });
    });

    it('refuses a tick when the queue is at its bound, changing nothing', async ({ skip }) => {
      const { store, clock, needs, add } = await setup();
      needs(skip, 'schedules');
      const s = schedulesOf(store);
      const at = clock.now() + 1_000;
      const { record } = (await s.upsertSchedule(definition('full', { nextAt: at }))) as { record: ScheduleRecord };
      await add(newJob(), newJob());
      await clock.advance(1_000);
      const fire = plan(store, record, { at, nextAt: at + 1_000 });
      expect(await s.fireSchedules([fire], { limit: 2 })).toEqual([{ outcome: 'refused', code: 'QUEUE_FULL' }]);
      expect(await s.schedules({ limit: 10 })).toMatchObject([{ nextAt: at, version: 1, lastAt: undefined }]);
      expect(await s.fireSchedules([fire], { limit: 3 })).toMatchObject([{ outcome: 'fired', id: fire.id }]);
    });

    it('finds the tick’s first job when the same tick is taken again after a redefinition', async ({ skip }) => {
      const { store, clock, needs } = await setup();
      needs(skip, 'schedules');
      const s = schedulesOf(store);
      const at = clock.now() + 1_000;
      const first = (await s.upsertSchedule(definition('same-tick', { nextAt: at }))) as { record: ScheduleRecord };
      await clock.advance(1_000);
      const [taken] = await s.fireSchedules([plan(store, first.record, { at, nextAt: at + 1_000 })], { limit: LIMIT });
      // Redefined with its next tick put back on the tick already taken: the same job, not a second one.
      const second = (await s.upsertSchedule(definition('same-tick', { nextAt: at, input: { v: 2 } }))) as { record: ScheduleRecord };
      const [again] = await s.fireSchedules([plan(store, second.record, { at, nextAt: at + 1_000 })], { limit: LIMIT });
      expect(again).toEqual(taken);
      expect(await store.counts()).toMatchObject({ queued: 1 });
    });
  });
}

function schedulesOf(store: JobStore): ScheduleStore {
  if (!store.upsertSchedule || !store.removeSchedule || !store.schedules || !store.fireSchedules) {
    throw new Error('the store declares supports.schedules but lacks the ScheduleStore methods');
  }
  return store as JobStore & ScheduleStore;
}

/** A schedule every second, running `noop`; keys get a random suffix-free name (stores are per test). */
function definition(key: string, overrides: Partial<ScheduleDefinition> & { nextAt: number }): ScheduleDefinition {
  return {
    key,
    name: 'noop',
    input: {},
    every: { everyMs: 1_000 },
    policy: { missed: 'skip', overlap: 'allow', graceMs: 10_000 },
    ...overrides,
  };
}

/** What a node plans for a tick (see `planFire`), with a job id placed beside the schedule. */
function plan(store: JobStore, record: ScheduleRecord, tick: { at: number; nextAt: number }): ScheduleFire {
  const id = store.newId?.({ scheduleKey: record.key }) ?? `sched-${randomUUID()}`;
  return { key: record.key, version: record.version, at: tick.at, nextAt: tick.nextAt, run: true, id };
}
