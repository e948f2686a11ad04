import { defineJob, NonRetryableError } from '@scalable-api/core';
import { z } from 'zod';

/**
 * The server's job definitions, as an app would export them: the client tests take their types
 * (`createClient<typeof jobs>`) and the test server runs them.
 */
export const add = defineJob({
  name: 'add',
  input: z.object({ a: z.number(), b: z.number() }),
  run: ({ a, b }) => ({ sum: a + b }),
});

export const sleep = defineJob({
  name: 'sleep',
  input: z.object({ ms: z.number().int().min(0).max(60_000) }),
  async run({ ms }, ctx) {
    await delay(ms, ctx.signal);
    return { sleptMs: ms };
  },
});

/** Reports progress `n` times, `ms` apart. */
export const steps = defineJob({
  name: 'steps',
  input: z.object({ n: z.number().int().min(1).max(1_000), ms: z.number().int().min(0).max(10_000) }),
  async run({ n, ms }, ctx) {
    for (let i = 1; i <= n; i++) {
      await delay(ms, ctx.signal);
      ctx.progress(i / n);
    }
    return { steps: n };
  },
});

/** No input at all. */
export const fail = defineJob({
  name: 'fail',
  run: (): { never: true } => {
    throw new NonRetryableError('this job always fails');
  },
});

/** A parent of `width` sleeping children. */
export const fanout = defineJob({
  name: 'fanout',
  input: z.object({ width: z.number().int().min(1).max(50), ms: z.number().int().min(0).max(10_000) }),
  async run({ width, ms }, ctx) {
    const children = await Promise.all(Array.from({ length: width }, (_, i) => ctx.spawn(sleep, { ms }, { key: `c${i}` })));
    return { slept: children.reduce((total, child) => total + child.sleptMs, 0) };
  },
});

/** Takes an uploaded body: the job gets `{ blob }`. */
export const measure = defineJob({
  name: 'measure',
  accepts: ['application/octet-stream', 'image/*'],
  input: z.object({ blob: z.object({ id: z.string(), size: z.number(), contentType: z.string(), sha256: z.string() }) }),
  run: ({ blob }) => ({ bytes: blob.size, contentType: blob.contentType, sha256: blob.sha256 }),
});

export const jobs = [add, sleep, steps, fail, fanout, measure] as const;

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
