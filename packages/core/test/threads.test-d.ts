import { describe, expectTypeOf, it } from 'vitest';
import { defineJob, threadBatchModule, threadModule, type JobSystem } from '@scalable-api/core';
import { z } from 'zod';
import type * as squareTask from './fixtures/square.task.js';
import type * as batchSquareTask from './fixtures/batch-square.task.js';

const batchSquareModule = threadBatchModule<typeof batchSquareTask>(new URL('./fixtures/batch-square.task.ts', import.meta.url));
const squareModule = threadModule<typeof squareTask>(new URL('./fixtures/square.task.ts', import.meta.url));

describe('thread jobs (types)', () => {
  it('take their input and output types from the module', () => {
    const square = defineJob({ name: 'square', isolation: 'thread', module: squareModule });
    const system = {} as JobSystem<[typeof square]>;
    expectTypeOf(system.submit(square, { n: 2 })).resolves.toMatchTypeOf<{ result(): Promise<{ square: number; attempt: number }> }>();
    // @ts-expect-error the module takes { n: number }
    void system.submit(square, { n: 'two' });
  });

  it('take the input type from a schema when one is given', () => {
    const square = defineJob({ name: 'square', isolation: 'thread', input: z.object({ n: z.number() }), module: squareModule });
    expectTypeOf(square).toMatchTypeOf<{ '~types'?: { input: { n: number }; output: { square: number } } }>();
  });
});

describe('batch jobs (types)', () => {
  it('take input and output types from runBatch, without the Error entries', () => {
    const job = defineJob({
      name: 'batch',
      batch: { max: 4, waitMs: 1 },
      runBatch: (inputs: { n: number }[]) => inputs.map((input) => (input.n < 0 ? new Error('negative') : { square: input.n * input.n })),
    });
    expectTypeOf(job).toMatchTypeOf<{ '~types'?: { input: { n: number }; output: { square: number } } }>();
    const system = {} as JobSystem<[typeof job]>;
    // @ts-expect-error runBatch takes { n: number }
    void system.submit(job, { n: 'two' });
  });

  it('take them from a batch thread module', () => {
    const job = defineJob({ name: 'batch-square', batch: { max: 4, waitMs: 1 }, isolation: 'thread', module: batchSquareModule });
    expectTypeOf(job).toMatchTypeOf<{ '~types'?: { input: { n: number; crash?: boolean }; output: { square: number; batch: number } } }>();
  });

  it('take the input type from a schema', () => {
    const job = defineJob({
      name: 'batch',
      input: z.object({ n: z.number() }),
      batch: { max: 4, waitMs: 1 },
      runBatch: (inputs) => inputs.map((input) => ({ twice: input.n * 2 })),
    });
    expectTypeOf(job).toMatchTypeOf<{ '~types'?: { input: { n: number }; output: { twice: number } } }>();
  });
});
