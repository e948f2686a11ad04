import { describe, expect, it } from 'vitest';
import type { SerializedError } from '../../errors.js';
import type { JobStore } from '../../store/job-store.js';
import { deliveryJobId, webhookJobName, type WebhookDelivery } from '../../webhook/webhook-delivery.js';
import { FAILED, newJob, type ConformanceSetup } from './store-fixture.js';

const URL = 'https://hooks.example.com/jobs?x="1"';

/** A job submitted with a webhook: its settlement and its delivery job are one atomic step of the store. */
export function describeWebhooks(setup: ConformanceSetup): void {
  describe('webhooks', () => {
    it('adds exactly one delivery job, with the outcome as input, when a job with a webhook settles', async () => {
      const { store, clock, add, claim } = await setup();
      const [done, failed, queued, plain] = await add(
        newJob({ webhook: URL, meta: { tenant: 'acme' } }),
        newJob({ webhook: URL }),
        newJob({ name: 'later', webhook: URL, runAt: clock.now() + 60_000 }),
        newJob(),
      );
      const { jobs } = await claim('node-a');
      expect(jobs.map((j) => j.id).sort()).toEqual([done, failed, plain].sort());
      const lease = (id: string | undefined) => jobs.find((j) => j.id === id)!;
      await clock.advance(10);
      // Nothing before the settlement: a running job has no delivery.
      expect(await store.get(deliveryJobId(done!))).toBeUndefined();
      expect(
        await store.settle([
          { ...lease(done), outcome: 'completed', output: { url: 's3://x', n: 1 } },
          { ...lease(failed), outcome: 'failed', error: FAILED },
          { ...lease(plain), outcome: 'completed', output: 1 },
        ]),
      ).toEqual(['ok', 'ok', 'ok']);
      const cancelled: SerializedError = { code: 'JOB_CANCELLED', message: 'The job was cancelled.' };
      expect(await store.cancel(queued!)).toBe('cancelled');
      const at = clock.now();

      const delivery = await store.get(deliveryJobId(done!));
      expect(delivery).toMatchObject({ name: webhookJobName, status: 'queued', attempt: 0, meta: { tenant: 'acme' }, parentId: undefined });
      expect(delivery!.input).toEqual({
        url: URL,
        jobId: done!,
        name: 'noop',
        status: 'completed',
        finishedAt: at,
        output: { url: 's3://x', n: 1 },
      } satisfies WebhookDelivery);
      expect((await store.get(deliveryJobId(failed!)))!.input).toEqual({
        url: URL,
        jobId: failed,
        name: 'noop',
        status: 'failed',
        finishedAt: at,
        error: FAILED,
      });
      expect((await store.get(deliveryJobId(queued!)))!.input).toEqual({
        url: URL,
        jobId: queued,
        name: 'later',
        status: 'cancelled',
        finishedAt: at,
        error: cancelled,
      });
      expect((await store.get(deliveryJobId(failed!)))!.meta).toBeUndefined();
      expect(await store.get(deliveryJobId(plain!))).toBeUndefined();
      expect(await store.counts()).toMatchObject({ queued: 3, completed: 2, failed: 1, cancelled: 1 });

      // Listed and claimed like any job; a stale settlement of the settled job adds nothing.
      expect((await listAll(store, webhookJobName)).sort()).toEqual([done, failed, queued].map((id) => deliveryJobId(id!)).sort());
      expect(await store.settle([{ ...lease(done), outcome: 'completed', output: 2 }])).toEqual(['stale']);
      const deliveries = await claim('node-b', { names: [webhookJobName] });
      expect(deliveries.jobs).toHaveLength(3);
      // A delivery job has no webhook of its own: settling it adds nothing.
      await store.settle(deliveries.jobs.map((j) => ({ ...j, outcome: 'completed' as const, output: undefined })));
      expect(await store.counts()).toMatchObject({ queued: 0, running: 0, completed: 5 });
    });

    it('adds the delivery once a parent settles after its last child, not when a retry or a hand-back ends an attempt', async () => {
      const { store, add, claim, claimOne } = await setup();
      const [parent] = await add(newJob({ name: 'parent', webhook: URL }));
      const p = await claimOne('node-a');
      const [child] = await add(newJob({ name: 'child', parentId: parent, parentToken: p.token }));
      // Completed early: the outcome waits for the child, and so does the webhook.
      await store.settle([{ ...p, outcome: 'completed', output: 'p' }]);
      expect(await store.get(parent!)).toMatchObject({ status: 'waitingChildren' });
      expect(await store.get(deliveryJobId(parent!))).toBeUndefined();
      const c = await claimOne('node-a', { names: ['child'] });
      await store.settle([{ ...c, outcome: 'completed', output: 'c' }]);
      expect(await store.get(parent!)).toMatchObject({ status: 'completed' });
      expect((await store.get(deliveryJobId(parent!)))!.input).toMatchObject({ jobId: parent, status: 'completed', output: 'p' });
      expect(await store.get(deliveryJobId(child!))).toBeUndefined();

      const [retried] = await add(newJob({ name: 'flaky', webhook: URL }));
      const r = await claimOne('node-a', { names: ['flaky'] });
      await store.settle([{ ...r, outcome: 'retry', error: FAILED, runAt: 0 }]);
      const again = await claimOne('node-a', { names: ['flaky'] });
      await store.settle([{ ...again, outcome: 'released' }]);
      expect(await store.get(deliveryJobId(retried!))).toBeUndefined();
      const last = await claim('node-a', { names: ['flaky'] });
      await store.settle([{ ...last.jobs[0]!, outcome: 'failed', error: FAILED }]);
      expect((await store.get(deliveryJobId(retried!)))!.input).toMatchObject({ status: 'failed', error: FAILED });
      expect(await listAll(store, webhookJobName)).toHaveLength(2);
    });
  });
}

/** The ids of every job of `name`, page after page (a page may come back short, even empty, with a cursor). */
async function listAll(store: JobStore, name: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ name, limit: 100, cursor });
    ids.push(...page.jobs.map((j) => j.id));
    cursor = page.cursor;
  } while (cursor !== undefined);
  return ids;
}
