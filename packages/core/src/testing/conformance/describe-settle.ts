import { describe, expect, it } from 'vitest';
import type { SerializedError } from '../../errors.js';
import { FAILED, LEASE, newJob, type ConformanceSetup } from './store-fixture.js';

/** How attempts end: completed, failed, cancelled, retried. */
export function describeSettle(setup: ConformanceSetup): void {
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

    it('announces a retry due later, and the next claim says when it falls due', async ({ skip }) => {
      const { store, clock, signals, add, claimOne, claim, needs } = await setup();
      needs(skip, 'retrySignal');
      await add(newJob());
      const lease = await claimOne('node-a');
      signals.clear();
      const runAt = clock.now() + 200;
      await store.settle([{ ...lease, outcome: 'retry', error: FAILED, runAt }]);
      // Without the signal a node would find the retry only at its next poll.
      await signals.waitFor((s) => s.type === 'work.available');
      expect(await claim('node-a')).toEqual({ jobs: [], nextRunAt: runAt });
    });

    it('queues a released job again at once, counting neither the attempt nor a stall', async ({ skip }) => {
      const { store, clock, signals, add, claimOne, needs } = await setup({ maxStalls: 2 });
      needs(skip, 'released');
      const [id] = await add(newJob());
      let lease = await claimOne('node-a');
      // Handed back three times: were any of them a stall, the lapse below would quarantine it.
      for (let i = 0; i < 3; i++) {
        signals.clear();
        expect(await store.settle([{ id: lease.id, token: lease.token, outcome: 'released' }])).toEqual(['ok']);
        expect(await store.get(id!)).toMatchObject({ status: 'queued', attempt: 0 });
        await signals.waitFor((s) => s.type === 'work.available');
        expect(await store.renew([lease], LEASE)).toEqual([{ held: false }]);
        const next = await claimOne('node-b');
        expect(next).toMatchObject({ id, attempt: 1 });
        expect(next.token).toBeGreaterThan(lease.token);
        lease = next;
      }
      await clock.advance(LEASE);
      expect(await claimOne('node-c')).toMatchObject({ id, attempt: 2 });
      const types = (await store.events(id!, 0)).map((e) => e.type);
      expect(types.slice(0, 4)).toEqual(['job.queued', 'job.started', 'job.released', 'job.started']);
      expect((await store.events(id!, 0)).find((e) => e.type === 'job.released')).toMatchObject({ status: 'queued', id });
    });

    it('settles a released job whose cancel was requested as cancelled', async ({ skip }) => {
      const { store, add, claimOne, claim, needs } = await setup();
      needs(skip, 'released');
      const [id] = await add(newJob());
      const lease = await claimOne('node-a');
      const reason: SerializedError = { code: 'JOB_CANCELLED', message: 'user asked' };
      expect(await store.cancel(id!, reason)).toBe('cancelling');
      expect(await store.settle([{ ...lease, outcome: 'released' }])).toEqual(['ok']);
      expect(await store.get(id!)).toMatchObject({ status: 'cancelled', error: reason });
      expect((await claim('node-b')).jobs).toEqual([]);
    });

    it('treats the release of an attempt that no longer holds its job as stale', async ({ skip }) => {
      const { store, clock, add, claimOne, needs } = await setup();
      needs(skip, 'released');
      const [id] = await add(newJob());
      const first = await claimOne('node-a');
      await clock.advance(LEASE);
      const second = await claimOne('node-b');
      expect(await store.settle([{ ...first, outcome: 'released' }])).toEqual(['stale']);
      expect(await store.get(id!)).toMatchObject({ status: 'running', attempt: 2 });
      expect(await store.renew([second], LEASE)).toEqual([{ held: true }]);
    });
  });
}
