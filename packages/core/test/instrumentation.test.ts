import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { defineJob, type Instrumentation } from '@scalable-api/core';
import { setup } from './helpers.js';

/**
 * A tracer in miniature: each attempt gets a span id, runs with it as the active context, and a
 * job created from inside an attempt carries that id. What an OpenTelemetry adapter does with
 * real spans and `traceparent`.
 */
function recordingInstrumentation() {
  const active = new AsyncLocalStorage<string>();
  const spans: { job: string; span: string; parent: string | undefined; outcome?: string }[] = [];
  const instrumentation: Instrumentation = {
    startAttempt(job) {
      const span: (typeof spans)[number] = { job: job.name, span: `s${spans.length + 1}`, parent: job.meta?.['parentSpan'] };
      spans.push(span);
      return {
        run: (fn) => active.run(span.span, fn),
        end: (settlement) => {
          span.outcome = settlement?.outcome ?? 'lease-lost';
        },
      };
    },
    propagate() {
      const span = active.getStore();
      return span ? { parentSpan: span } : undefined;
    },
  };
  return { instrumentation, spans };
}

describe('instrumentation', () => {
  it('wraps each attempt and carries the active context into the children it spawns', async () => {
    const { instrumentation, spans } = recordingInstrumentation();
    const leaf = defineJob({ name: 'leaf', run: () => 1 });
    const mid = defineJob({ name: 'mid', run: async (_: undefined, ctx) => (await ctx.spawn(leaf, undefined)) + 1 });
    const root = defineJob({ name: 'root', run: async (_: undefined, ctx) => (await ctx.spawn(mid, undefined)) + 1 });
    const { system } = await setup({ jobs: [leaf, mid, root], workers: 1, instrumentation });
    expect(await (await system.submit(root, undefined)).result()).toBe(3);
    const byJob = Object.fromEntries(spans.map((s) => [s.job, s]));
    expect(byJob['root']).toMatchObject({ parent: undefined, outcome: 'completed' });
    expect(byJob['mid']).toMatchObject({ parent: byJob['root']!.span, outcome: 'completed' });
    expect(byJob['leaf']).toMatchObject({ parent: byJob['mid']!.span, outcome: 'completed' });
  });
});
