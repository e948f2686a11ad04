import { describe, expectTypeOf, it } from 'vitest';
import { createJobSystem, defineJob, type ChildResult, type JobHandle, type MachineJobInput } from '@scalable-api/core';
import { setup as machineSetup } from 'xstate';
import { z } from 'zod';

const resize = defineJob({
  name: 'resize',
  input: z.object({ width: z.number(), format: z.enum(['png', 'jpeg']).default('png') }),
  async run(input) {
    expectTypeOf(input).toEqualTypeOf<{ width: number; format: 'png' | 'jpeg' }>();
    return { width: input.width, bytes: 10 };
  },
});

const plain = defineJob({ name: 'plain', run: (input: { n: number }) => input.n * 2 });

const counter = machineSetup({
  types: { input: {} as MachineJobInput<{ start: number }>, output: {} as { total: number } },
}).createMachine({ id: 'counter', initial: 'done', states: { done: { type: 'final' } }, output: () => ({ total: 1 }) });
const machineJob = defineJob({ name: 'machine', machine: counter });

describe('type inference', () => {
  it('flows input and output types from the definition to submit() and result()', async () => {
    const system = createJobSystem({ jobs: [resize, plain, machineJob], workers: 1 });
    const handle = await system.submit(resize, { width: 10 });
    expectTypeOf(handle).toEqualTypeOf<JobHandle<{ width: number; bytes: number }>>();
    expectTypeOf(await handle.result()).toEqualTypeOf<{ width: number; bytes: number }>();
    expectTypeOf(await (await system.submit(plain, { n: 1 })).result()).toEqualTypeOf<number>();
    expectTypeOf(await (await system.submit(machineJob, { start: 1 })).result()).toEqualTypeOf<{ total: number }>();
  });

  it('rejects wrong input and jobs the system does not know', async () => {
    const system = createJobSystem({ jobs: [resize, plain], workers: 1 });
    // @ts-expect-error width must be a number
    await system.submit(resize, { width: 'wide' });
    // @ts-expect-error n is required
    await system.submit(plain, {});
    const stranger = defineJob({ name: 'stranger', run: () => 1 });
    // @ts-expect-error not registered with this system
    await system.submit(stranger, undefined);
  });

  it('types spawn by failure policy', () => {
    defineJob({
      name: 'parent',
      async run(_: undefined, ctx) {
        expectTypeOf(await ctx.spawn(plain, { n: 1 })).toEqualTypeOf<number>();
        expectTypeOf(await ctx.spawn(plain, { n: 1 }, { onFailure: 'continue' })).toEqualTypeOf<ChildResult<number>>();
        expectTypeOf(await ctx.spawn(plain, { n: 1 }, { onFailure: 'ignore' })).toEqualTypeOf<number | undefined>();
        // @ts-expect-error wrong child input
        await ctx.spawn(plain, { n: 'x' });
      },
    });
  });

  it('refuses a definition with neither run nor machine', () => {
    // @ts-expect-error run or machine is required
    defineJob({ name: 'empty' });
  });
});
