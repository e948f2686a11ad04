import { describe, expect, it } from 'vitest';
import { flowKeysExamined, type FlowStatsQuery } from '../../store/flow-stats.js';
import type { FlowControl, JobStore } from '../../store/job-store.js';
import { newJob, type ConformanceSetup } from './store-fixture.js';

/**
 * `flowStats`: what the store reports of its flow control — queued entries per name and per flow
 * key, and each gate (rate limit, push-back) and per-key running count. `gates: false` leaves out
 * the cases that read rate-limit buckets, for a store that splits limits (the sharded store).
 */
export function describeFlowStats(setup: ConformanceSetup, options: { gates: boolean }): void {
  describe('flow stats', () => {
    it("reports each name's queued entries and its flow keys with the most queued, in turn order on ties", async ({ skip }) => {
      const { store, add, needs } = await setup();
      needs(skip, 'flowStats');
      const render = (key?: string) => newJob({ name: 'render', ...(key === undefined ? {} : { key }) });
      await add(render(), render('a'), render('b'), render('a'), render('c'), render(), render('c'), render('a'), newJob({ name: 'mail' }));
      expect(await statsOf(store, { names: ['render', 'mail', 'idle'], topKeys: 2 })).toEqual([
        { name: 'render', queued: 8, keys: 3, partial: false, top: [key('a', 3), key('c', 2)] },
        { name: 'mail', queued: 1, keys: 0, partial: false, top: [] },
        { name: 'idle', queued: 0, keys: 0, partial: false, top: [] },
      ]);
    });

    it(`looks at the first ${flowKeysExamined} keys in turn order and says the rest were not examined`, async ({ skip }) => {
      const { store, add, needs } = await setup();
      needs(skip, 'flowStats');
      await add(...Array.from({ length: flowKeysExamined + 5 }, (_, i) => newJob({ name: 'wide', key: `k${i}` })));
      expect(await statsOf(store, { names: ['wide'], topKeys: 1 })).toEqual([
        { name: 'wide', queued: flowKeysExamined, keys: flowKeysExamined + 5, partial: true, top: [key('k0', 1)] },
      ]);
    });

    if (!options.gates) return;

    it("reports a rate limit's tokens, when it lets the next job go, and a push-back", async ({ skip }) => {
      const { store, add, claim, clock, needs } = await setup();
      needs(skip, 'flowStats');
      const flow = new Map<string, FlowControl>([['api', { rate: { max: 2, perMs: 1_000, perKey: false } }]]);
      await add(newJob({ name: 'api' }), newJob({ name: 'api' }), newJob({ name: 'api' }));
      const t0 = clock.now();
      const stats = async () => (await statsOf(store, { names: ['api'], flow }))[0];
      expect(await stats()).toEqual({ name: 'api', queued: 3, keys: 0, partial: false, top: [], tokens: 2 });
      const { jobs } = await claim('node-a', { flow });
      expect(jobs).toHaveLength(2);
      // The bucket is empty; it gets its next token in perMs / max.
      expect(await stats()).toMatchObject({ queued: 1, tokens: 0, heldUntil: t0 + 500 });
      await store.settle([{ id: jobs[0]!.id, token: jobs[0]!.token, outcome: 'released', pushBack: { until: t0 + 3_000 } }]);
      expect(await stats()).toMatchObject({ queued: 2, tokens: 0, heldUntil: t0 + 3_000, pushBackUntil: t0 + 3_000 });
      await clock.advance(3_000);
      expect(await stats()).toEqual({ name: 'api', queued: 2, keys: 0, partial: false, top: [], tokens: 2 });
    });

    it("reports each key's own gate, and its running jobs under a per-key concurrency limit", async ({ skip }) => {
      const { store, add, claim, clock, needs } = await setup();
      needs(skip, 'flowStats');
      const flow = new Map<string, FlowControl>([
        ['call', { rate: { max: 1, perMs: 1_000, perKey: true } }],
        ['render', { concurrencyPerKey: 2 }],
      ]);
      await add(
        newJob({ name: 'call', key: 'a' }),
        newJob({ name: 'call', key: 'a' }),
        newJob({ name: 'render', key: 'x' }),
        newJob({ name: 'render', key: 'x' }),
        newJob({ name: 'render', key: 'x' }),
      );
      const t0 = clock.now();
      const { jobs } = await claim('node-a', { flow });
      expect(jobs.map((j) => j.name).sort()).toEqual(['call', 'render', 'render']);
      const [call, render] = await statsOf(store, { names: ['call', 'render'], flow });
      expect(call!.top).toEqual([{ key: 'a', queued: 1, tokens: 0, heldUntil: t0 + 1_000 }]);
      expect(render!.top).toEqual([{ key: 'x', queued: 1, running: 2 }]);
      const done = jobs.find((j) => j.name === 'render')!;
      await store.settle([{ id: done.id, token: done.token, outcome: 'completed', output: null }]);
      await clock.advance(1_000);
      const [callAfter, renderAfter] = await statsOf(store, { names: ['call', 'render'], flow });
      expect(callAfter!.top).toEqual([{ key: 'a', queued: 1, tokens: 1 }]);
      expect(renderAfter!.top).toEqual([{ key: 'x', queued: 1, running: 1 }]);
    });
  });
}

function key(name: string, queued: number) {
  return { key: name, queued };
}

function statsOf(store: JobStore, query: FlowStatsQuery) {
  if (!store.flowStats) throw new Error('the store declares supports.flowStats but has no flowStats method');
  return store.flowStats(query);
}
