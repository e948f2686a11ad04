import { describe, expect, it } from 'vitest';
import { assign, fromPromise, setup as machineSetup, type InspectionEvent } from 'xstate';
import { defineJob, type MachineJobInput } from '@scalable-api/core';
import { settle, setup } from './helpers.js';

const child = defineJob({ name: 'child', run: (input: { n: number }) => input.n * 2 });

/** A job written as a statechart: fetch, then spawn a child through ctx, then finish. */
const pipeline = machineSetup({
  types: {
    input: {} as MachineJobInput<{ n: number }>,
    context: {} as { n: number; doubled: number; ctx: MachineJobInput<{ n: number }>['ctx'] },
    output: {} as { doubled: number },
  },
  actors: {
    double: fromPromise(({ input }: { input: { ctx: MachineJobInput<{ n: number }>['ctx']; n: number } }) => input.ctx.spawn(child, { n: input.n })),
  },
}).createMachine({
  id: 'pipeline',
  context: ({ input }) => ({ n: input.input.n, doubled: 0, ctx: input.ctx }),
  initial: 'doubling',
  states: {
    doubling: {
      invoke: {
        src: 'double',
        input: ({ context }) => ({ ctx: context.ctx, n: context.n }),
        onDone: { target: 'done', actions: assign({ doubled: ({ event }) => event.output }) },
        onError: 'failed',
      },
    },
    done: { type: 'final' },
    failed: {
      entry: () => {
        throw new Error('child failed');
      },
    },
  },
  output: ({ context }) => ({ doubled: context.doubled }),
});

describe('machine jobs', () => {
  it('runs a job defined as an xstate machine, which can spawn children', async () => {
    const job = defineJob({ name: 'pipeline', machine: pipeline });
    const { system } = await setup({ jobs: [job, child], workers: 1 });
    const handle = await system.submit(job, { n: 21 });
    expect(await handle.result()).toEqual({ doubled: 42 });
    expect((await system.tree(handle.id))?.children[0]).toMatchObject({ name: 'child', status: 'completed', output: 42 });
  });

  it('fails the job when its machine errors, without crashing the worker', async () => {
    const broken = machineSetup({ types: { input: {} as MachineJobInput<undefined> } }).createMachine({
      id: 'broken',
      entry: () => {
        throw new Error('bad machine');
      },
    });
    const job = defineJob({ name: 'broken', machine: broken });
    const { system } = await setup({ jobs: [job], workers: 1 });
    const outcome = await settle((await system.submit(job, undefined)).result());
    expect(outcome.ok ? null : outcome.error.code).toBe('JOB_FAILED');
    expect((await system.stats()).restarts).toBe(0);
  });
});

describe('inspect', () => {
  it('passes the inspector to the supervisor, dispatcher, workers, parents and machine jobs', async () => {
    const seen = new Set<string>();
    const inspect = (event: InspectionEvent) => {
      if (event.type === '@xstate.actor') {
        const logic = (event.actorRef as { logic?: { id?: string } }).logic;
        if (logic?.id) seen.add(logic.id);
      }
    };
    const parent = defineJob({ name: 'parent', run: (_: undefined, ctx) => ctx.spawn(child, { n: 1 }) });
    const job = defineJob({ name: 'pipeline', machine: pipeline });
    const { system } = await setup({ jobs: [job, child, parent], workers: 2, inspect });
    await (await system.submit(parent, undefined)).result();
    await (await system.submit(job, { n: 1 })).result();
    expect([...seen].sort()).toEqual(expect.arrayContaining(['dispatcher', 'parent', 'pipeline', 'supervisor', 'worker']));
  });
});
