import { context, trace } from '@opentelemetry/api';
import { useInMemoryTracing, type ReadableSpan } from '@scalable-api/test-support/otel';
import { beforeEach, describe, expect, it } from 'vitest';
import { defineJob, NonRetryableError } from '@scalable-api/core';
import { createOtelInstrumentation } from '@scalable-api/core/otel';
import { setup } from './helpers.js';

const { tracer, exporter } = useInMemoryTracing();
beforeEach(() => exporter.reset());

const leaf = defineJob({ name: 'leaf', run: (n: number) => n });
const mid = defineJob({
  name: 'mid',
  run: async (width: number, ctx) => (await Promise.all(Array.from({ length: width }, (_, i) => ctx.spawn(leaf, i, { key: `l${i}` })))).length,
});
const root = defineJob({
  name: 'root',
  run: async (_: undefined, ctx) => (await ctx.spawn(mid, 2, { key: 'a' })) + (await ctx.spawn(mid, 3, { key: 'b' })),
});
const broken = defineJob({
  name: 'broken',
  run: (): never => {
    throw new NonRetryableError('no');
  },
});

const byName = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.attributes['job.name'] === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

describe('createOtelInstrumentation', () => {
  it('gives each attempt a span, nested as the job tree nests, on a worker pool narrower than the tree', async () => {
    const { system } = await setup({ jobs: [leaf, mid, root], workers: 1, instrumentation: createOtelInstrumentation({ tracer }) });
    expect(await (await system.submit(root, undefined)).result()).toBe(5);
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1 + 2 + 5);
    const [rootSpan] = byName(spans, 'root');
    const mids = byName(spans, 'mid');
    const leaves = byName(spans, 'leaf');
    expect(rootSpan!.name).toBe('job root');
    expect(parentOf(rootSpan!)).toBeUndefined();
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([rootSpan!.spanContext().traceId]));
    for (const m of mids) expect(parentOf(m)).toBe(rootSpan!.spanContext().spanId);
    // Each leaf hangs under the mid that spawned it, told apart by the job ids the spans carry.
    for (const l of leaves) {
      const owner = mids.find((m) => m.attributes['job.id'] === l.attributes['job.parent_id']);
      expect(parentOf(l)).toBe(owner!.spanContext().spanId);
    }
    expect(mids.map((m) => leaves.filter((l) => parentOf(l) === m.spanContext().spanId).length).sort()).toEqual([2, 3]);
    expect(rootSpan!.attributes).toMatchObject({ 'job.attempt': 1, 'job.outcome': 'completed', 'job.root_id': rootSpan!.attributes['job.id'] });
  });

  it('continues the trace of the code that submitted the job (an HTTP request, say)', async () => {
    const { system } = await setup({ jobs: [leaf], workers: 2, instrumentation: createOtelInstrumentation({ tracer }) });
    const request = tracer.startSpan('POST /jobs/leaf');
    const handle = await context.with(trace.setSpan(context.active(), request), () => system.submit(leaf, 1));
    request.end();
    await handle.result();
    const [job] = byName(exporter.getFinishedSpans(), 'leaf');
    expect(job!.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(parentOf(job!)).toBe(request.spanContext().spanId);
  });

  it('reads a traceparent carried in meta, as the HTTP adapter and the Redis store hand it over', async () => {
    const { system } = await setup({ jobs: [leaf], workers: 1, instrumentation: createOtelInstrumentation({ tracer }) });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await (await system.submit(leaf, 1, { meta: { traceparent, tracestate: 'vendor=1' } })).result();
    const [job] = byName(exporter.getFinishedSpans(), 'leaf');
    expect(job!.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(parentOf(job!)).toBe('00f067aa0ba902b7');
    expect(job!.spanContext().traceState?.get('vendor')).toBe('1');
  });

  it('ignores a malformed traceparent and starts a new trace', async () => {
    const { system } = await setup({ jobs: [leaf], workers: 1, instrumentation: createOtelInstrumentation({ tracer }) });
    await (await system.submit(leaf, 1, { meta: { traceparent: '00-zz-00f067aa0ba902b7-01' } })).result();
    const [job] = byName(exporter.getFinishedSpans(), 'leaf');
    expect(parentOf(job!)).toBeUndefined();
  });

  it('marks a failed attempt as an error with its code', async () => {
    const { system } = await setup({ jobs: [broken], workers: 1, instrumentation: createOtelInstrumentation({ tracer }) });
    await expect((await system.submit(broken, undefined)).result()).rejects.toThrow();
    const [span] = exporter.getFinishedSpans();
    expect(span!.status).toMatchObject({ code: 2, message: 'no' });
    expect(span!.attributes).toMatchObject({ 'job.outcome': 'failed', 'error.type': expect.any(String) });
  });
});
