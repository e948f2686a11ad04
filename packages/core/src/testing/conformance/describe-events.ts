import { describe, expect, it } from 'vitest';
import { newJob, type ConformanceSetup } from './store-fixture.js';

/** Job events as read back and as signalled. */
export function describeEvents(setup: ConformanceSetup): void {
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

    it('names a parent that runs on after waiting for its children job.resumed, with its attempt: not a second start', async () => {
      const { store, clock, signals, add, claimOne } = await setup();
      const [id] = await add(newJob({ name: 'p' }));
      const lease = await claimOne('node-a');
      await store.setWaiting(lease, true);
      await clock.advance(7);
      await store.setWaiting(lease, false);
      const resumed = { type: 'job.resumed', status: 'running', attempt: 1, id, name: 'p', seq: 4, at: clock.now(), parentId: undefined, rootId: id };
      // Live and read back alike, so a reader that resumes gets the same event it would have heard.
      expect(await signals.waitFor((s) => s.type === 'job.event' && s.event.id === id && s.event.seq === 4)).toEqual({
        type: 'job.event',
        event: resumed,
      });
      const events = await store.events(id!, 0);
      expect(events.map((e) => e.type)).toEqual(['job.queued', 'job.started', 'job.waiting', 'job.resumed']);
      expect(events[3]).toEqual(resumed);
      await store.settle([{ ...lease, outcome: 'completed', output: 1 }]);
      expect((await store.events(id!, 3)).map((e) => e.type)).toEqual(['job.resumed', 'job.completed']);
      expect(await store.get(id!)).toMatchObject({ status: 'completed', attempt: 1 });
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

  describe('getMany', () => {
    it('reads many records in one call, in the order asked, undefined for unknown ids', async () => {
      const { store, add, claimOne } = await setup();
      const [a, b] = await add(newJob({ name: 'a' }), newJob({ name: 'b' }));
      await claimOne('node-a');
      const many = await store.getMany([b!, 'missing', a!, b!]);
      expect(many).toEqual([await store.get(b!), undefined, await store.get(a!), await store.get(b!)]);
      expect(many.map((r) => r?.status)).toEqual(['queued', undefined, 'running', 'queued']);
      expect(await store.getMany([])).toEqual([]);
    });
  });
}
