import { createJobSystem, defineJob, type JobContext, type JobStore, type JobSystem } from '@scalable-api/core';
import { createOtelInstrumentation } from '@scalable-api/core/otel';
import { createRedisStore } from '@scalable-api/redis';
import Fastify, { type FastifyInstance } from 'fastify';
import { useInMemoryTracing, type ReadableSpan } from '@scalable-api/test-support/otel';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from '../../redis/test/redis-fixture.js';
import { jobsPlugin } from '../src/index.js';
import { listen as listenOn } from './listen.js';

const { tracer, exporter } = useInMemoryTracing();

/** A tree of `width` children per level, `depth` levels below the root. */
const branch = defineJob({
  name: 'branch',
  async run({ depth, width }: { depth: number; width: number }, ctx: JobContext): Promise<number> {
    if (depth === 0) return 1;
    const counts = await Promise.all(Array.from({ length: width }, (_, i) => ctx.spawn(branch, { depth: depth - 1, width }, { key: `c${i}` })));
    return counts.reduce((a, b) => a + b, 0);
  },
});

const traceId = '0af7651916cd43dd8448eb211c80319c';
const clientSpan = 'b7ad6b7169203331';

interface Node {
  app: FastifyInstance;
  system: JobSystem;
  base: string;
}
const nodes: Node[] = [];

async function node(store?: JobStore): Promise<Node> {
  const system = createJobSystem({ jobs: [branch], workers: 2, instrumentation: createOtelInstrumentation({ tracer }), ...(store ? { store } : {}) });
  await system.start();
  const app = Fastify({ logger: false });
  await app.register(jobsPlugin, { system, prefix: '/jobs' });
  const n = { app, system, base: await listenOn(app) };
  nodes.push(n);
  return n;
}

afterEach(async () => {
  for (const n of nodes.splice(0)) {
    await n.app.close();
    await n.system.stop({ drain: false, timeoutMs: 1_000 });
    await n.system.store.close();
  }
  exporter.reset();
});

/** Submits a tree with a client's traceparent and waits for it through `Prefer: wait`. */
async function submitTraced(base: string, tracestate?: string): Promise<string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', traceparent: `00-${traceId}-${clientSpan}-01`, prefer: 'wait=20' };
  if (tracestate) headers['tracestate'] = tracestate;
  const response = await fetch(`${base}/jobs/branch`, { method: 'POST', headers, body: JSON.stringify({ depth: 2, width: 2 }) });
  const body = (await response.json()) as { id: string; status: string; output: number };
  expect(body).toMatchObject({ status: 'completed', output: 4 });
  return body.id;
}

/** Every job's span is under its parent job's span, and the root's under the client's. */
function expectNested(spans: ReadableSpan[], rootId: string): void {
  expect(spans).toHaveLength(1 + 2 + 4);
  const byJob = new Map(spans.map((s) => [s.attributes['job.id'] as string, s]));
  for (const span of spans) {
    expect(span.spanContext().traceId).toBe(traceId);
    const parentJob = span.attributes['job.parent_id'] as string | undefined;
    if (span.attributes['job.id'] === rootId) expect(span.parentSpanContext?.spanId).toBe(clientSpan);
    else expect(span.parentSpanContext?.spanId).toBe(byJob.get(parentJob!)!.spanContext().spanId);
  }
}

describe('jobsPlugin trace context', () => {
  it('carries the request traceparent into the job, and the tree nests under it', async () => {
    const { base } = await node();
    const id = await submitTraced(base, 'congo=t61rcWkgMzE');
    const spans = exporter.getFinishedSpans();
    expectNested(spans, id);
    expect(
      spans
        .find((s) => s.attributes['job.id'] === id)!
        .spanContext()
        .traceState?.get('congo'),
    ).toBe('t61rcWkgMzE');
  });

  it('starts a new trace for a request without (or with a malformed) traceparent', async () => {
    const { base } = await node();
    const response = await fetch(`${base}/jobs/branch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: '00-not-a-trace-01', prefer: 'wait=20' },
      body: JSON.stringify({ depth: 0, width: 1 }),
    });
    expect(response.status).toBe(200);
    const [span] = exporter.getFinishedSpans();
    expect(span!.parentSpanContext).toBeUndefined();
  });
});

const prefix = testPrefix();
await describeWithRedis('jobsPlugin trace context across a Redis store', () => {
  afterAll(() => deletePrefix(prefix));

  it('keeps the tree nested when its jobs are claimed from Redis by two nodes', async () => {
    const a = await node(createRedisStore({ url: redisUrl, prefix }));
    await node(createRedisStore({ url: redisUrl, prefix }));
    const id = await submitTraced(a.base);
    expectNested(exporter.getFinishedSpans(), id);
  });
});
