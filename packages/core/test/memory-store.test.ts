import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../src/events.js';
import type { LeaseRef, Settlement } from '../src/store/job-store.js';
import { createMemoryStore } from '../src/store/memory-store.js';
import { runStoreConformance } from '../src/testing/conformance/index.js';
import { SimulatedClock } from '../src/testing/index.js';

runStoreConformance('createMemoryStore', (options) => {
  const clock = new SimulatedClock();
  return {
    store: createMemoryStore({ ...options, clock }),
    clock,
    supports: {
      released: true,
      parentToken: true,
      renewCancel: true,
      retrySignal: true,
      list: true,
      schedules: true,
      pause: true,
      rateLimits: true,
      fairShare: true,
      flowStats: true,
    },
    cleanup: () => {},
  };
});

describe('the memory store’s event log', () => {
  type Op =
    | { op: 'enqueue' }
    | { op: 'claim' }
    | { op: 'settle'; how: 'completed' | 'failed' | 'cancelled' | 'retry' | 'retry-later' }
    | { op: 'progress' }
    | { op: 'wait'; waiting: boolean }
    | { op: 'cancel' }
    | { op: 'advance'; ms: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 3, arbitrary: fc.constant({ op: 'enqueue' as const }) },
    { weight: 3, arbitrary: fc.constant({ op: 'claim' as const }) },
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constant('settle' as const), how: fc.constantFrom('completed', 'failed', 'cancelled', 'retry', 'retry-later') }),
    },
    { weight: 1, arbitrary: fc.constant({ op: 'progress' as const }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('wait' as const), waiting: fc.boolean() }) },
    { weight: 1, arbitrary: fc.constant({ op: 'cancel' as const }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(1, 500, 40_000) }) },
  );

  // Most events are kept implied by the record (implied-events.ts) and rebuilt on read: whatever
  // happens to a job, reading its log must give exactly the events that were published for it.
  it('reads back exactly the events it published, for any history', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), fc.constantFrom(2, 3, 100), async (ops, eventsPerJob) => {
        const clock = new SimulatedClock();
        const store = createMemoryStore({ clock, eventsPerJob, maxStalls: 10 });
        const published = new Map<string, JobEvent[]>();
        store.subscribe((signal) => {
          if (signal.type !== 'job.event') return;
          const list = published.get(signal.event.id) ?? [];
          list.push(signal.event);
          published.set(signal.event.id, list);
        });
        const leases: LeaseRef[] = [];
        let n = 0;
        for (const step of ops) {
          if (step.op === 'enqueue') await store.enqueue([{ id: `j${n++}`, name: 'x', input: { n }, priority: 0 }], { limit: 100 });
          else if (step.op === 'claim') leases.push(...(await store.claim({ owner: 'a', max: 1, leaseMs: 30_000 })).jobs);
          else if (step.op === 'settle' && leases.length > 0) {
            const lease = leases.shift()!;
            const error = { code: 'JOB_FAILED' as const, message: 'no' };
            const settlement: Settlement =
              step.how === 'completed'
                ? { ...lease, outcome: 'completed', output: { ok: lease.id } }
                : step.how === 'retry' || step.how === 'retry-later'
                  ? { ...lease, outcome: 'retry', error, runAt: clock.now() + (step.how === 'retry' ? 0 : 100) }
                  : { ...lease, outcome: step.how, error };
            await store.settle([settlement]);
          } else if (step.op === 'progress' && leases.length > 0) await store.progress(leases[0]!, { at: clock.now() });
          else if (step.op === 'wait' && leases.length > 0) await store.setWaiting(leases[0]!, step.waiting);
          else if (step.op === 'cancel' && n > 0) await store.cancel(`j${n - 1}`);
          else if (step.op === 'advance') await clock.advance(step.ms);
        }
        for (const [id, events] of published) {
          const read = await store.events(id, 0);
          expect(read).toEqual(events.slice(-eventsPerJob));
          // Byte for byte as published (key order included): SSE sends JSON.stringify of these.
          expect(read.map((e) => JSON.stringify(e))).toEqual(events.slice(-eventsPerJob).map((e) => JSON.stringify(e)));
          const last = events.at(-1)!.seq;
          expect((await store.events(id, last - 1)).map((e) => e.seq)).toEqual([last]);
        }
      }),
      { numRuns: 300 },
    );
  });
});
