import { Readable } from 'node:stream';
import { defineJob, type BlobStore } from '@scalable-api/core';
import { z } from 'zod';

/** Bounds of one request: the batch becomes that many jobs, so it must not be open-ended. */
export const maxPayloads = 500;
export const maxPayloadBytes = 16 * 1024;

const payload = z.record(z.string(), z.unknown()).refine((value) => Buffer.byteLength(JSON.stringify(value)) <= maxPayloadBytes, {
  message: `a payload is at most ${maxPayloadBytes} bytes of JSON`,
});

/**
 * The jobs of the Go write-up's service ("handling 1 million requests per minute"): a POST
 * carries many small JSON payloads, and each one is uploaded to S3. Here each payload is a child
 * job, so the worker pool — sized by `WORKERS` — bounds the uploads in flight, a failed upload
 * retries on its own, and the batch answers with every object key once all are stored.
 *
 * @example
 * const system = createJobSystem({ jobs: uploadJobs(blobs), workers: Number(process.env.WORKERS) });
 */
export function uploadJobs(blobs: BlobStore) {
  const uploadPayload = defineJob({
    name: 'upload-payload',
    input: z.object({ payload }),
    retry: { attempts: 5, backoff: { type: 'exponential', delayMs: 100, maxDelayMs: 2_000, jitter: true } },
    timeoutMs: 30_000,
    async run({ payload: value }, ctx) {
      const body = Buffer.from(JSON.stringify(value));
      ctx.signal.throwIfAborted();
      const ref = await blobs.put(Readable.from([body]), { contentType: 'application/json', maxBytes: body.length });
      return { key: ref.id, sha256: ref.sha256, size: ref.size };
    },
  });

  const uploadBatch = defineJob({
    name: 'upload-batch',
    input: z.object({ payloads: z.array(payload).min(1).max(maxPayloads) }),
    timeoutMs: 120_000,
    async run({ payloads }, ctx) {
      let done = 0;
      const uploads = await Promise.all(
        payloads.map(async (value, i) => {
          const stored = await ctx.spawn(uploadPayload, { payload: value }, { key: `p${i}` });
          if (++done % 50 === 0 || done === payloads.length) ctx.progress(done / payloads.length);
          return stored;
        }),
      );
      return { count: uploads.length, keys: uploads.map((u) => u.key) };
    },
  });

  return [uploadBatch, uploadPayload] as const;
}
