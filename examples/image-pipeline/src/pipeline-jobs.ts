import { defineJob, threadModule, type BatchOptions, type BlobStore } from '@scalable-api/core';
import { z } from 'zod';
import type { BlobLocation } from './blob-location.js';
import { classifyJob, verdictOf, type ModerationPolicy, type Verdict } from './classify-job.js';
import { ImageRejectedError, reasonOf } from './image-rejected-error.js';
import { probeImage } from './probe-image.js';
import { resizeImage, type ResizedImage } from './resize-image.js';
import type * as resizeTask from './resize.task.js';

export interface PipelineOptions {
  /** The blob store of this (main) thread: uploads arrive in it, results go to it. */
  blobs: BlobStore;
  /** The same store as data, for worker threads to open their own. Required with `isolation: 'thread'`. */
  location?: BlobLocation;
  /**
   * `'thread'` resizes in the system's worker threads; `'inline'` on the main thread. sharp decodes
   * and resizes in libvips threads either way, so inline mostly costs the JS around it. Default thread.
   */
  isolation?: 'thread' | 'inline';
  /** Target widths; those not smaller than the source are skipped. Default 64, 256, 1024. */
  widths?: readonly number[];
  /** The decompression-bomb bound on width x height. Default 40 megapixels. */
  maxPixels?: number;
  /** The parent job's name; children are `<name>.probe`, `<name>.classify` and `<name>.resize`. Default `image`. */
  name?: string;
  /** Moderation by the bundled MobileNetV2 before any thumbnail is made; `false` skips it. */
  moderation?: ModerationOptions | false;
}

export interface ModerationOptions {
  /** `'refuse'` fails a flagged upload with `IMAGE_REFUSED`; `'flag'` completes it with the verdict. Default `'flag'`. */
  policy?: ModerationPolicy;
  /** Porn + Hentai at or over this flags the image. Default 0.7. */
  threshold?: number;
  /** How classify calls the model: batches of up to `max` images. Default `{ max: 8, waitMs: 10 }`; `false` one per call. */
  batch?: BatchOptions | false;
}

const blobRef = z.object({ id: z.string(), size: z.number(), contentType: z.string(), sha256: z.string() });

/** Resolves `./resize.task.ts` from sources (tsx) and `./resize.task.js` once built. */
const resizeModule = threadModule<typeof resizeTask>(new URL(`./resize.task.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url));

/**
 * The image pipeline as a job tree: the parent spawns a probe (type and dimensions from the
 * header, bombs refused before decoding), then a classify child (the moderation model, batched
 * with other uploads' in worker threads) whose verdict refuses or flags the upload, then one
 * resize child per width, in parallel; each child stores its result. The parent returns the
 * source's header, the stored keys and the verdict, and reports progress as children finish.
 *
 * @example
 * const jobs = imagePipelineJobs({ blobs, location: { kind: 's3', bucket: 'images' } });
 * const system = createJobSystem({ jobs, workers: 16, threads: { max: 2 } });
 */
export function imagePipelineJobs(options: PipelineOptions) {
  const name = options.name ?? 'image';
  const widths = options.widths ?? [64, 256, 1024];
  const maxPixels = options.maxPixels ?? 40_000_000;
  const { blobs, location } = options;
  if (options.isolation !== 'inline' && !location)
    throw new TypeError("imagePipelineJobs: isolation 'thread' needs a location (threads open their own store)");

  const probe = defineJob({
    name: `${name}.probe`,
    input: z.object({ blob: blobRef }),
    retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 100 } },
    timeoutMs: 10_000,
    run: ({ blob }, ctx) => probeImage(blobs, blob, maxPixels, ctx.signal),
  });

  const resizeSpec = { name: `${name}.resize`, retry: { attempts: 3, backoff: { type: 'exponential' as const, delayMs: 100 } }, timeoutMs: 60_000 };
  const resize =
    options.isolation === 'inline'
      ? defineJob({
          ...resizeSpec,
          run: (input: Parameters<typeof resizeImage>[1], ctx): Promise<ResizedImage> => resizeImage(blobs, input, ctx.signal),
        })
      : defineJob({ ...resizeSpec, isolation: 'thread', module: resizeModule });

  const moderation = options.moderation === false ? undefined : (options.moderation ?? {});
  const classify = classifyJob({
    name: `${name}.classify`,
    blobs,
    location,
    isolation: options.isolation ?? 'thread',
    batch: moderation?.batch ?? { max: 8, waitMs: 10 },
  });

  const parent = defineJob({
    name,
    // The HTTP edge streams these bodies to the blob store; any other binary type is a 415.
    accepts: ['image/png', 'image/jpeg'],
    input: z.object({ blob: blobRef }),
    timeoutMs: 120_000,
    async run({ blob }, ctx) {
      ctx.progress({ step: 'probe' });
      const probed = await ctx.spawn(probe, { blob }, { key: 'probe', onFailure: 'continue' });
      if (probed.status !== 'completed') {
        // Surface the probe's reason as this job's own error rather than a generic CHILD_FAILED.
        const message = probed.error.cause?.message ?? probed.error.message;
        throw new ImageRejectedError(reasonOf(message) ?? 'IMAGE_CORRUPT', message.replace(/^IMAGE_[A-Z_]+: /, ''));
      }
      const source = probed.output;
      let verdict: Verdict | undefined;
      if (moderation) {
        ctx.progress({ step: 'classify' });
        const scores = await ctx.spawn(classify, { blob, maxPixels, location: location ?? { kind: 'fs', dir: '' } }, { key: 'classify' });
        verdict = verdictOf(scores, moderation.threshold ?? 0.7);
        if (verdict.flagged && moderation.policy === 'refuse') {
          throw new ImageRejectedError(
            'IMAGE_REFUSED',
            `the moderation model flagged the image (explicit ${verdict.explicit.toFixed(3)}, top ${verdict.top})`,
          );
        }
      }
      const targets = widths.filter((w) => w < source.width);
      if (targets.length === 0) targets.push(source.width);
      let done = 0;
      ctx.progress({ step: 'resize', done, total: targets.length });
      const sizes = await Promise.all(
        targets.map(async (width) => {
          // With inline isolation the location is never read (the main thread's store is used).
          const resized = await ctx.spawn(
            resize,
            { blob, width, format: source.format, maxPixels, location: location ?? { kind: 'fs', dir: '' } },
            { key: `w${width}` },
          );
          ctx.progress({ step: 'resize', done: ++done, total: targets.length });
          return resized;
        }),
      );
      return { ...source, bytes: blob.size, sha256: blob.sha256, sizes, keys: sizes.map((s) => s.key), ...(verdict ? { moderation: verdict } : {}) };
    },
  });

  return [parent, probe, resize, classify] as const;
}
