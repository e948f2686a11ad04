import { describe, expect, it } from 'vitest';
import type { NewJob } from '../../store/job-store.js';
import { LIMIT, newJob, type ConformanceContext, type ConformanceSetup } from './store-fixture.js';

/** Finished trees leave by count and by age, and say so. */
export function describeRetention(setup: ConformanceSetup): void {
  describe('retention', () => {
    async function finishRoot(ctx: ConformanceContext, job: NewJob, ...children: NewJob[]) {
      await ctx.add(job);
      const lease = await ctx.claimOne('node-a', { names: [job.name] });
      if (children.length > 0) {
        await ctx.add(...children.map((c) => ({ ...c, parentId: job.id })));
        const { jobs } = await ctx.claim('node-a', { names: [children[0]!.name] });
        await ctx.store.settle(jobs.map((j) => ({ ...j, outcome: 'completed' as const, output: null })));
      }
      await ctx.store.settle([{ ...lease, outcome: 'completed', output: null }]);
      await ctx.clock.advance(1);
    }

    it('drops the oldest finished trees past the count, freeing their idempotency keys', async () => {
      const ctx = await setup({ retention: { count: 2 } });
      const first = newJob({ name: 'root', idempotencyKey: 'k1', meta: { blob: 'b1' } });
      const child = newJob({ name: 'leaf' });
      await finishRoot(ctx, first, child);
      await finishRoot(ctx, newJob({ name: 'root' }));
      expect(await ctx.store.get(first.id)).toBeDefined();
      await finishRoot(ctx, newJob({ name: 'root' }));
      expect(await ctx.store.get(first.id)).toBeUndefined();
      expect(await ctx.store.get(child.id)).toBeUndefined();
      expect(await ctx.store.events(first.id, 0)).toEqual([]);
      await ctx.signals.waitFor((s) => s.type === 'job.dropped' && s.id === first.id && s.meta?.['blob'] === 'b1');
      await ctx.signals.waitFor((s) => s.type === 'job.dropped' && s.id === child.id);
      expect(await ctx.store.counts()).toMatchObject({ completed: 2 });
      const [again] = await ctx.store.enqueue([newJob({ idempotencyKey: 'k1' })], { limit: LIMIT });
      expect(again).toMatchObject({ ok: true, created: true });
    });

    it('drops finished trees older than the age', async () => {
      const ctx = await setup({ retention: { ageMs: 1_000 } });
      const job = newJob({ name: 'root' });
      await finishRoot(ctx, job);
      await ctx.clock.advance(998);
      await ctx.claim('node-a');
      expect(await ctx.store.get(job.id)).toBeDefined();
      await ctx.clock.advance(1);
      await ctx.claim('node-a');
      expect(await ctx.store.get(job.id)).toBeUndefined();
      expect(await ctx.store.counts()).toMatchObject({ completed: 0 });
    });
  });
}
