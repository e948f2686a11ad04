import { describe, expectTypeOf, it } from 'vitest';
import { defineJob, threadModule, type JobSystem } from '@scalable-api/core';
import { z } from 'zod';
import type * as squareTask from './fixtures/square.task.js';

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
