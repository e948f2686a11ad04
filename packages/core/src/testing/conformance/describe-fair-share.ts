import { describe, expect, it } from 'vitest';
import type { ClaimedJob, FlowControl } from '../../store/job-store.js';
import { newJob, type ConformanceSetup } from './store-fixture.js';

/** Fair claims across flow keys (jobs of one name claimed in turns per key), weights, and a per-key concurrency limit. */
export function describeFairShare(setup: ConformanceSetup): void {
  describe('fair share', () => {
    /** Each job's key, by its input (`{ key }`): claimed jobs carry their input, not their key. */
    const keyed = (key: string | undefined, n: number) => Array.from({ length: n }, () => newJob({ name: 'work', key, input: { key: key ?? '-' } }));
    const keysOf = (jobs: ClaimedJob[]) => jobs.map((j) => (j.input as { key: string }).key);

    it('hands out keys in turns, however long one key’s backlog', async ({ skip }) => {
      const { add, claim, needs } = await setup();
      needs(skip, 'fairShare');
      await add(...keyed('a', 200));
      await add(...keyed('b', 3));
      const { jobs } = await claim('node-a', { max: 8 });
      expect(keysOf(jobs)).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'a']);
    });

    it('keeps the turn across claims and nodes', async ({ skip }) => {
      const { add, claim, needs } = await setup();
      needs(skip, 'fairShare');
      await add(...keyed('a', 5));
      await add(...keyed('b', 5));
      await add(...keyed('c', 5));
      const order: string[] = [];
      for (let i = 0; i < 6; i++) order.push(...keysOf((await claim(i % 2 ? 'node-b' : 'node-a', { max: 1 })).jobs));
      expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    });

    it('gives jobs without a key their turn as one more key', async ({ skip }) => {
      const { add, claim, needs } = await setup();
      needs(skip, 'fairShare');
      await add(...keyed(undefined, 3));
      await add(...keyed('a', 3));
      expect(keysOf((await claim('node-a', { max: 6 })).jobs)).toEqual(['-', 'a', '-', 'a', '-', 'a']);
    });

    it('gives a key its weight in jobs per turn', async ({ skip }) => {
      const { add, claim, needs } = await setup();
      needs(skip, 'fairShare');
      await add(...keyed('a', 10));
      await add(...keyed('b', 10));
      const flow = new Map<string, FlowControl>([['work', { weights: { a: 3 } }]]);
      expect(keysOf((await claim('node-a', { max: 8, flow })).jobs)).toEqual(['a', 'a', 'a', 'b', 'a', 'a', 'a', 'b']);
    });

    it('runs at most concurrencyPerKey jobs of a key at once, across nodes', async ({ skip }) => {
      const { add, claim, store, needs } = await setup();
      needs(skip, 'fairShare');
      await add(...keyed('a', 5));
      await add(...keyed('b', 1));
      const flow = new Map<string, FlowControl>([['work', { concurrencyPerKey: 2 }]]);
      const first = await claim('node-a', { flow });
      expect(keysOf(first.jobs).sort()).toEqual(['a', 'a', 'b']);
      expect((await claim('node-b', { flow })).jobs).toEqual([]);
      const done = first.jobs.find((j) => (j.input as { key: string }).key === 'a')!;
      await store.settle([{ id: done.id, token: done.token, outcome: 'completed', output: null }]);
      expect(keysOf((await claim('node-b', { flow })).jobs)).toEqual(['a']);
      expect((await claim('node-b', { flow })).jobs).toEqual([]);
    });

    it('frees a key’s place when its job is retried, released or cancelled', async ({ skip }) => {
      const { add, claim, store, clock, needs } = await setup();
      needs(skip, 'fairShare');
      const [first] = await add(...keyed('a', 3));
      const flow = new Map<string, FlowControl>([['work', { concurrencyPerKey: 1 }]]);
      const one = (await claim('node-a', { flow })).jobs;
      expect(one.map((j) => j.id)).toEqual([first]);
      await store.settle([
        { id: one[0]!.id, token: one[0]!.token, outcome: 'retry', error: { code: 'JOB_FAILED', message: 'x' }, runAt: clock.now() + 60_000 },
      ]);
      const two = (await claim('node-a', { flow })).jobs;
      expect(two).toHaveLength(1);
      await store.settle([{ id: two[0]!.id, token: two[0]!.token, outcome: 'released' }]);
      const three = (await claim('node-a', { flow })).jobs;
      expect(three).toHaveLength(1);
      await store.cancel(three[0]!.id);
      await store.settle([{ id: three[0]!.id, token: three[0]!.token, outcome: 'cancelled', error: { code: 'JOB_CANCELLED', message: 'x' } }]);
      expect((await claim('node-a', { flow })).jobs).toHaveLength(1);
    });
  });
}
