import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createJobSystem, defineJob, type JobEvent } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { sleep } from './helpers.js';

type Plan = { kind: 'succeed' | 'throw' | 'hang' | 'slow'; ms: number; cancelAt: number | undefined; attempts: number };

const planArb: fc.Arbitrary<Plan> = fc.record({
  kind: fc.constantFrom('succeed', 'throw', 'hang', 'slow'),
  ms: fc.integer({ min: 0, max: 300 }),
  cancelAt: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
  attempts: fc.integer({ min: 1, max: 3 }),
});

describe('property: every job settles exactly once', () => {
  it('holds for random mixes of jobs that succeed, throw, time out and get cancelled', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(planArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 6 }), async (plans, workers) => {
        const clock = new SimulatedClock();
        const job = defineJob({
          name: 'planned',
          timeoutMs: 200,
          retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 10 } },
          async run(plan: Plan, ctx) {
            if (plan.kind === 'hang') await new Promise(() => {});
            await sleep(clock, plan.ms, ctx.signal);
            if (plan.kind === 'throw' && ctx.attempt <= plan.attempts) throw new Error('planned failure');
            return ctx.attempt;
          },
        });
        const system = createJobSystem({ jobs: [job], workers, clock, queue: { limit: 1_000 } });
        await system.start();
        const events = system.events();
        const settledCount = new Map<string, number>();
        const collected: JobEvent[] = [];
        const reading = (async () => {
          for await (const event of events) {
            collected.push(event);
            if (event.type === 'job.completed' || event.type === 'job.failed' || event.type === 'job.cancelled') {
              settledCount.set(event.id, (settledCount.get(event.id) ?? 0) + 1);
            }
          }
        })();
        const handles = await Promise.all(plans.map((plan) => system.submit(job, plan)));
        plans.forEach((plan, i) => {
          if (plan.cancelAt !== undefined) clock.setTimeout(() => void handles[i]!.cancel(), plan.cancelAt);
        });
        const outcomes = handles.map((h) =>
          h.result().then(
            () => 'completed',
            (e: { code: string }) => e.code,
          ),
        );
        await clock.advance(10_000);
        const results = await Promise.all(outcomes);
        const stats = await system.stats();
        await system.stop({ drain: false });
        await reading;

        expect(handles.every((h) => settledCount.get(h.id) === 1)).toBe(true);
        expect(stats.completed + stats.failed + stats.cancelled).toBe(plans.length);
        expect(stats.queued + stats.running + stats.delayed).toBe(0);
        expect(results.filter((r) => r === 'completed')).toHaveLength(stats.completed);
        // A job that never settles its own promise still ends: by timeout or by cancel.
        plans.forEach((plan, i) => {
          if (plan.kind === 'hang') expect(results[i]).toMatch(/JOB_TIMEOUT|JOB_CANCELLED/);
        });
      }),
      { numRuns: 60 },
    );
  });
});
