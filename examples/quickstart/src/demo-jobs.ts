import { defineJob, type JobContext } from '@scalable-api/core';
import type { BlobStore } from '@scalable-api/http-adapter';
import { z } from 'zod';
import { probeDone, probeImageSize, type ImageSize } from './image-size.js';

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

const fanoutInput = z
  .object({ depth: z.number().int().min(0).max(6), width: z.number().int().min(1).max(20) })
  .refine(({ depth, width }) => treeSize(depth, width) <= maxFanoutNodes, { message: `the tree would have more than ${maxFanoutNodes} jobs` });

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

const blobRef = z.object({ id: z.string(), size: z.number(), contentType: z.string(), sha256: z.string() });

/**
 * The thumbnail job reads its image from the blob store the HTTP adapter streamed it into. For
 * now it probes the header for the dimensions; resizing comes with an image library later.
 */
export function thumbnailJob(blobs: BlobStore) {
  return defineJob({
    name: 'thumbnail',
    input: z.object({ blob: blobRef }),
    timeoutMs: 30_000,
    async run({ blob }, ctx) {
      const size = await probeBlob(blobs, blob.id, ctx.signal);
      if (!size) throw new Error(`blob ${blob.id} (${blob.contentType}) is not a PNG or JPEG`);
      return { ...size, bytes: blob.size, sha256: blob.sha256 };
    },
  });
}

export function demoJobs(blobs: BlobStore) {
  return [echo, sleep, flaky, fanout, thumbnailJob(blobs)] as const;
}

/** Reads only as much of the blob as the header needs (at most 1 MiB), then stops the stream. */
async function probeBlob(blobs: BlobStore, id: string, signal: AbortSignal): Promise<ImageSize | undefined> {
  const stream = blobs.open(id);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      signal.throwIfAborted();
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      const head = Buffer.concat(chunks, length);
      const size = probeImageSize(head);
      if (size || probeDone(head) || length >= 1_048_576) return size;
    }
    return probeImageSize(Buffer.concat(chunks, length));
  } finally {
    stream.destroy();
  }
}

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
