import type { BlobRef, JobHandle, JobInfo } from '@scalable-api/core';
import type { FastifyRequest } from 'fastify';
import type { AdapterContext } from '../adapter-context.js';
import { HttpProblemError } from '../problem.js';
import { traceMetaOf } from '../trace-headers.js';

/**
 * The dashboard's retry: a new job with the same name and input, under the caller's tenant; the
 * old one keeps its outcome and history. It is a submit like any other: refused while the node
 * drains, carrying the trace context (the request's, else the original's, so the retry shows in
 * the trace it came from), and an upload gets a blob reference of its own. Reusing the
 * original's would fail once the original leaves retention and its reference is released.
 */
export async function retryJob(ctx: AdapterContext, request: FastifyRequest, original: JobInfo): Promise<JobHandle> {
  if (ctx.draining) throw new HttpProblemError('SHUTTING_DOWN', 'This node is shutting down; retry on another node.');
  const meta: Record<string, string> = {};
  if (request.tenant !== undefined) meta['tenant'] = request.tenant;
  Object.assign(meta, traceMetaOf(request) ?? traceOf(original.meta));
  let input = original.input;
  let blob: BlobRef | undefined;
  const uploaded = original.meta?.['blob'];
  if (uploaded !== undefined) {
    const ref = (original.input as { blob?: Partial<BlobRef> } | undefined)?.blob;
    blob = await copyBlob(ctx, uploaded, ref?.contentType ?? 'application/octet-stream');
    input = { ...(original.input as object), blob };
    meta['blob'] = blob.id;
  }
  try {
    return await ctx.system.submitByName(original.name, input, Object.keys(meta).length > 0 ? { meta } : {});
  } catch (error) {
    if (blob) await ctx.blobs.remove(blob.id);
    throw error;
  }
}

/** A new reference to the same bytes (content-addressed stores keep them once). */
async function copyBlob(ctx: AdapterContext, id: string, contentType: string): Promise<BlobRef> {
  try {
    return await ctx.blobs.put(ctx.blobs.open(id), { contentType, maxBytes: ctx.limits.blobBytes });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT')
      throw new HttpProblemError('JOB_NOT_FOUND', 'The upload of this job is gone.', { cause: error });
    throw error;
  }
}

function traceOf(meta: Record<string, string> | undefined): Record<string, string> | undefined {
  const traceparent = meta?.['traceparent'];
  if (traceparent === undefined) return undefined;
  const tracestate = meta?.['tracestate'];
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}
