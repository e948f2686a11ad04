import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createJobSystem, defineJob, threadModule, type AnyJobDefinition, type JobSystem } from '@scalable-api/core';
import { burn } from './fixtures/burn.task.js';
import type * as burnTask from './fixtures/burn.task.js';

const inlineBurn = defineJob({ name: 'burn-inline', run: (input: { rounds: number }) => ({ value: burn(input.rounds) }) });
const threadBurn = defineJob({
  name: 'burn-thread',
  isolation: 'thread',
  module: threadModule<typeof burnTask>(new URL('./fixtures/burn.task.ts', import.meta.url)),
});

let system: JobSystem | undefined;
afterEach(async () => {
  await system?.stop({ drain: false, timeoutMs: 0 });
  system = undefined;
});

interface Responsiveness {
  /** Event-loop delay percentiles while the jobs ran, in ms. */
  p99: number;
  max: number;
  /** How late a 5 ms interval timer fired on average, in ms. */
  lateness: number;
}

/** Runs `count` CPU-heavy jobs of one kind and measures how the event loop fared meanwhile. */
async function measure(job: typeof inlineBurn | typeof threadBurn, rounds: number, count: number): Promise<Responsiveness> {
  const jobs: readonly AnyJobDefinition[] = [job];
  system = createJobSystem({ jobs, workers: 2, threads: { max: 1 } });
  await system.start();
  // Warm the thread (and the module) up so start-up is not part of the measurement.
  await (await system.submit(job, { rounds: 0 })).result();
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let ticks = 0;
  let late = 0;
  let expected = performance.now() + 5;
  const timer = setInterval(() => {
    const now = performance.now();
    late += Math.max(0, now - expected);
    ticks++;
    expected = now + 5;
  }, 5);
  histogram.enable();
  // The histogram samples from its first timer tick on: arm it before the load starts.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const handles = await Promise.all(Array.from({ length: count }, () => system!.submit(job, { rounds })));
  await Promise.all(handles.map((h) => h.result()));
  // A loop blocked to the end is only sampled once it turns again: let the samplers fire.
  await new Promise((resolve) => setTimeout(resolve, 20));
  histogram.disable();
  clearInterval(timer);
  return { p99: histogram.percentile(99) / 1e6, max: histogram.max / 1e6, lateness: late / Math.max(1, ticks) };
}

describe("isolation: 'thread' keeps the event loop responsive", () => {
  it('shows less event-loop delay and timer lateness with CPU-heavy jobs in threads than inline', async () => {
    // Size the work from this machine's speed (~60 ms a job), not from a constant.
    const t0 = performance.now();
    burn(5);
    const rounds = Math.max(5, Math.round((60 / Math.max(1, performance.now() - t0)) * 5));
    const inline = await measure(inlineBurn, rounds, 6);
    const threaded = await measure(threadBurn, rounds, 6);
    // Only the comparison is asserted: absolute figures depend on the machine and its load.
    console.info('event loop while burning', { rounds, inline, threaded });
    expect(inline.max).toBeGreaterThan(threaded.max);
    expect(inline.lateness).toBeGreaterThan(threaded.lateness);
  });
});
