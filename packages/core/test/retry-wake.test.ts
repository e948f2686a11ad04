import { describe, expect, it } from 'vitest';
import { defineJob } from '@scalable-api/core';
import { setup } from './helpers.js';

// A retry due later is a delayed job: the memory store announces it (`work.available`) like a
// delayed submit, so the dispatcher's next claim learns when it falls due and wakes for it,
// instead of finding it at its next poll (issue 13 item 13: 200 ms back-offs ran at +1 s, +2 s…).
describe('a retry with back-off on the memory store', () => {
  it('runs at its runAt, not at the next poll', async () => {
    const startedAt: number[] = [];
    const flaky = defineJob({
      name: 'flaky-fixed',
      retry: { attempts: 4, backoff: { type: 'fixed', delayMs: 200 } },
      run(_: undefined, ctx) {
        startedAt.push(clock.now());
        if (ctx.attempt < 4) throw new Error(`fail ${ctx.attempt}`);
        return ctx.attempt;
      },
    });
    const { system, clock } = await setup({ jobs: [flaky], workers: 2, pollMs: 1_000 });
    const t0 = clock.now();
    const handle = await system.submit(flaky, undefined);
    // Step by step, so a wake-up that came only from the poll would show as a later start.
    for (let t = 0; t < 3_000; t += 10) await clock.advance(10);
    expect(await handle.result()).toBe(4);
    expect(startedAt.map((t) => t - t0)).toEqual([0, 200, 400, 600]);
  });
});
