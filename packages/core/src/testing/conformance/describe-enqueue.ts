import { describe, expect, it } from 'vitest';
import { LIMIT, newJob, type ConformanceSetup } from './store-fixture.js';

/** Adding jobs: the bound, atomic batches, idempotency and child keys. */
export function describeEnqueue(setup: ConformanceSetup): void {
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

    it('refuses a whole atomic batch when a key is held with another name or fingerprint', async () => {
      const { store } = await setup();
      const original = newJob({ name: 'charge', idempotencyKey: 'k1', fingerprint: 'f1' });
      await store.enqueue([original], { limit: LIMIT });
      const batch = [newJob(), newJob({ name: 'charge', idempotencyKey: 'k1', fingerprint: 'f2' }), newJob({ idempotencyKey: 'k2' })];
      expect(await store.enqueue(batch, { limit: LIMIT, atomic: true })).toEqual([
        { ok: false, code: 'BATCH_ABORTED' },
        { ok: true, id: original.id, created: false, status: 'queued', name: 'charge', fingerprint: 'f1' },
        { ok: false, code: 'BATCH_ABORTED' },
      ]);
      for (const job of batch) expect(await store.get(job.id)).toBeUndefined();
      expect(await store.counts()).toMatchObject({ queued: 1 });
      // The same key with the same name and fingerprint is a replay, not a conflict.
      const replay = await store.enqueue([newJob({ name: 'charge', idempotencyKey: 'k1', fingerprint: 'f1' }), newJob()], {
        limit: LIMIT,
        atomic: true,
      });
      expect(replay[0]).toMatchObject({ ok: true, created: false, id: original.id });
      expect(replay[1]).toMatchObject({ ok: true, created: true });
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
}
