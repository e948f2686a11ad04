import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createJobSystem, defineJob, isSettledEvent, type AnyJobDefinition, type OnChildFailure } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { sleep } from './helpers.js';

interface NodeSpec {
  fail: boolean;
  ms: number;
  policy: OnChildFailure;
  children: NodeSpec[];
}

function nodeArb(depth: number): fc.Arbitrary<NodeSpec> {
  return fc.record({
    fail: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    ms: fc.integer({ min: 0, max: 50 }),
    policy: fc.constantFrom<OnChildFailure>('fail-parent', 'continue', 'ignore'),
    children: depth === 0 ? fc.constant([]) : fc.array(nodeArb(depth - 1), { maxLength: 3 }),
  });
}

describe('property: job trees', () => {
  it('every node settles exactly once and every parent settles after all of its children', async () => {
    await fc.assert(
      fc.asyncProperty(nodeArb(4), fc.integer({ min: 1, max: 4 }), fc.boolean(), async (root, workers, declared) => {
        const clock = new SimulatedClock();
        const node: AnyJobDefinition = defineJob({
          name: 'node',
          async run(spec: NodeSpec, ctx) {
            if (!declared) {
              await Promise.allSettled(spec.children.map((child) => ctx.spawn(node, child, { onFailure: child.policy } as never)));
            }
            await sleep(clock, spec.ms, ctx.signal);
            if (spec.fail) throw new Error('planned');
            return 'ok';
          },
        });
        const system = createJobSystem({ jobs: [node], workers, clock, queue: { limit: 10_000 } });
        await system.start();
        const events = system.events({ bufferSize: 100_000 });
        const order: { id: string; parentId: string | undefined }[] = [];
        const reading = (async () => {
          for await (const event of events) if (isSettledEvent(event)) order.push({ id: event.id, parentId: event.parentId });
        })();
        const toTree = (spec: NodeSpec): Parameters<typeof system.submitTree>[0] => ({
          job: node,
          input: spec,
          onFailure: spec.policy,
          children: spec.children.map(toTree),
        });
        const handle = declared ? await system.submitTree(toTree(root)) : await system.submit(node, root);
        const done = handle.result().then(
          () => undefined,
          () => undefined,
        );
        await clock.advance(100_000);
        await done;
        await clock.tick();
        const tree = await system.tree(handle.id);
        await system.stop({ drain: false });
        await reading;

        const count = (spec: NodeSpec): number => 1 + spec.children.reduce((n, c) => n + count(c), 0);
        const seen = new Map<string, number>();
        order.forEach((e, i) => {
          expect(seen.has(e.id)).toBe(false);
          seen.set(e.id, i);
        });
        // Nodes that a failing parent cancelled before they were spawned do not exist; every
        // node that exists has settled exactly once.
        const ids: string[] = [];
        const walk = (n: NonNullable<typeof tree>): void => {
          ids.push(n.id);
          expect(['completed', 'failed', 'cancelled']).toContain(n.status);
          n.children.forEach(walk);
        };
        walk(tree!);
        expect(ids.every((id) => seen.has(id))).toBe(true);
        if (declared) expect(ids).toHaveLength(count(root));
        for (const e of order) {
          if (e.parentId !== undefined) expect(seen.get(e.parentId)!).toBeGreaterThan(seen.get(e.id)!);
        }
      }),
      { numRuns: 60 },
    );
  });
});
