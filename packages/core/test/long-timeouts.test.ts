import { describe, expect, it } from 'vitest';
import { createJobSystem, defineJob, systemClock } from '@scalable-api/core';

/** Real time on purpose: the fault is in Node's timers, which a simulated clock never touches. */
function realDelay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('timeoutMs beyond a timer (2^31-1 ms) or Infinity', () => {
  it('systemClock does not fire a timer of 2^31 ms at once, and clears it', async () => {
    let fired = false;
    const handle = systemClock.setTimeout(() => (fired = true), 2 ** 31);
    await realDelay(20);
    expect(fired).toBe(false);
    systemClock.clearTimeout(handle);
  });

  it.each([2 ** 31, 2 ** 40, Infinity])('lets a job with timeoutMs %s run to completion', async (timeoutMs) => {
    const job = defineJob({
      name: 'patient',
      timeoutMs,
      run: async () => {
        await realDelay(20);
        return 'finished';
      },
    });
    const system = createJobSystem({ jobs: [job], workers: 1 });
    await system.start();
    try {
      expect(await (await system.submit(job, undefined)).result()).toBe('finished');
    } finally {
      await system.stop({ drain: false, timeoutMs: 0 });
    }
  });

  it.each([0, -1, Number.NaN, '5' as unknown as number])('refuses timeoutMs %s at defineJob', (timeoutMs) => {
    expect(() => defineJob({ name: 'bad', timeoutMs, run: () => 1 })).toThrow(/timeoutMs/);
  });
});
