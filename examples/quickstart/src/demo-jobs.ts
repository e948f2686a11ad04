import { defineJob, type BlobStore, type JobContext } from '@scalable-api/core';
import { z } from 'zod';
import { imagePipelineJobs, type BlobLocation } from '@scalable-api/example-image-pipeline';

/** The bound on a fanout tree: it must stay a demo, not a way to flood the queue. */
export const maxFanoutNodes = 2_000;

/** A JSON object of any shape. */
export const echo = defineJob({
  name: 'echo',
  input: z.record(z.string(), z.unknown()),
  run: (input) => input,
});

export const sleep = defineJob({
  name: 'sleep',
  input: z.object({ ms: z.number().int().min(0).max(60_000) }),
  async run({ ms }, ctx) {
    await delay(ms, ctx.signal);
    return { sleptMs: ms };
  },
});

/** Fails its first `failTimes` attempts, then succeeds: shows retries with back-off. */
export const flaky = defineJob({
  name: 'flaky',
  input: z.object({ failTimes: z.number().int().min(0).max(9) }),
  retry: { attempts: 10, backoff: { type: 'exponential', delayMs: 50, maxDelayMs: 1_000 } },
  run({ failTimes }, ctx) {
    if (ctx.attempt <= failTimes) throw new Error(`planned failure on attempt ${ctx.attempt} of ${failTimes + 1}`);
    return { attempts: ctx.attempt };
  },
});

/**
 * Calls an imagined upstream, at most 5 starts a second across every node (a rate limit the
 * store holds). Until `busyUntil` (epoch ms) the upstream answers 429: the job says so with
 * `ctx.rateLimited`, and every node holds the whole type back until then — the dashboard's flow
 * panel and `GET /jobs/flow` show it held.
 */
export const upstream = defineJob({
  name: 'upstream',
  input: z.object({ busyUntil: z.number().int().min(0).optional() }),
  rateLimit: { max: 5, perMs: 1_000 },
  run({ busyUntil }, ctx) {
    const wait = (busyUntil ?? 0) - Date.now();
    if (wait > 0) ctx.rateLimited(wait);
    return { calledAt: Date.now() };
  },
});

/**
 * One object schema per depth, each with the widest width that keeps the tree within
 * `maxFanoutNodes`: the bound is in the schema itself, so the OpenAPI document states it exactly
 * (a refinement would be invisible to JSON Schema).
 */
const fanoutInput = z.union(
  Array.from({ length: 7 }, (_, depth) => {
    let width = 20;
    while (treeSize(depth, width) > maxFanoutNodes) width--;
    return z.object({ depth: z.literal(depth), width: z.number().int().min(1).max(width) });
  }) as unknown as [
    z.ZodObject<{ depth: z.ZodLiteral<number>; width: z.ZodNumber }>,
    ...z.ZodObject<{ depth: z.ZodLiteral<number>; width: z.ZodNumber }>[],
  ],
);

/** A tree: `width` children of depth - 1 each, down to leaves at depth 0. */
export const fanout = defineJob({
  name: 'fanout',
  input: fanoutInput,
  async run({ depth, width }, ctx: JobContext): Promise<{ leaves: number }> {
    if (depth === 0) return { leaves: 1 };
    const children = await Promise.all(
      Array.from({ length: width }, (_, i) => ctx.spawn(fanout, { depth: depth - 1, width }, { key: `child-${i}` })),
    );
    return { leaves: children.reduce((sum, child) => sum + child.leaves, 0) };
  },
});

/**
 * `thumbnail` is the image pipeline of examples/image-pipeline, the same code: a probe child reads
 * the header (type, dimensions, the pixel bound), then resize children store 64 and 256 px wide
 * versions. Resizing runs inline here: the quickstart's blobs are a private temp directory, and
 * sharp does the pixel work in libvips threads off the event loop anyway. No model runs for it.
 */
export function thumbnailJobs(blobs: BlobStore) {
  return imagePipelineJobs({ blobs, name: 'thumbnail', isolation: 'inline', widths: [64, 256], moderation: false });
}

/**
 * `thumbnail.moderated` is the same pipeline with moderation, for a client that asks for it by
 * posting here instead: the bundled MobileNetV2 classifies the upload in a worker thread (loaded
 * once per thread, batched with other uploads, off the event loop), and the result carries
 * `moderation: { flagged, top, explicit, scores }` beside the thumbnails. A model costs its
 * memory and a core, so the plain `thumbnail` never loads it.
 */
export function moderatedThumbnailJobs(blobs: BlobStore, location: BlobLocation) {
  return imagePipelineJobs({
    blobs,
    location,
    name: 'thumbnail.moderated',
    isolation: 'thread',
    widths: [64, 256],
    moderation: { policy: 'flag', batch: { max: 8, waitMs: 10 } },
  });
}

/** The demo jobs; `blobDir` is the directory of `blobs` (an fs store), which worker threads open by themselves. */
export function demoJobs(blobs: BlobStore, blobDir: string) {
  return [echo, sleep, flaky, upstream, fanout, ...thumbnailJobs(blobs), ...moderatedThumbnailJobs(blobs, { kind: 'fs', dir: blobDir })] as const;
}

/** The quickstart's jobs as a type: `createClient<QuickstartJobs>(...)` (docs/client.md). */
export type QuickstartJobs = ReturnType<typeof demoJobs>;

function treeSize(depth: number, width: number): number {
  let nodes = 0;
  for (let level = 0, count = 1; level <= depth; level++, count *= width) nodes += count;
  return nodes;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
