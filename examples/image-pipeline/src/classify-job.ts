import { defineJob, threadBatchModule, threadModule, type BatchOptions, type BlobStore } from '@scalable-api/core';
import type { BlobLocation } from './blob-location.js';
import type { ClassifyInput } from './classify-blobs.js';
import type * as classifyBlobsModule from './classify-blobs.js';
import { classNames, type ClassName, type Scores } from './class-names.js';
import type * as classifyTask from './classify.task.js';
import type * as classifyOneTask from './classify-one.task.js';

export interface ClassifyOptions {
  name: string;
  /** The main thread's store (inline), or the location threads open their own from. */
  blobs: BlobStore;
  location: BlobLocation | undefined;
  isolation: 'thread' | 'inline';
  /** Dynamic batching of the model's calls; `false` runs one image per call. */
  batch: BatchOptions | false;
}

const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
const batchModule = threadBatchModule<typeof classifyTask>(new URL(`./classify.task.${ext}`, import.meta.url));
const oneModule = threadModule<typeof classifyOneTask>(new URL(`./classify-one.task.${ext}`, import.meta.url));

/**
 * The `classify` job: MobileNetV2 class probabilities for one image. Thread isolation runs the
 * model in the system's worker threads (loaded once per thread); a batch sends up to `batch.max`
 * images through the model as one tensor, each job settled with its own scores or error.
 */
export function classifyJob(options: ClassifyOptions) {
  const { blobs, batch, isolation } = options;
  const spec = { name: options.name, retry: { attempts: 3, backoff: { type: 'exponential' as const, delayMs: 100 } }, timeoutMs: 60_000 };
  if (batch === false) {
    return isolation === 'thread'
      ? defineJob({ ...spec, isolation: 'thread', module: oneModule })
      : defineJob({
          ...spec,
          async run(input: ClassifyInput): Promise<Scores> {
            const [scores] = await (await classifier()).classifyBlobs(blobs, [input]);
            if (scores instanceof Error) throw scores;
            return scores!;
          },
        });
  }
  return isolation === 'thread'
    ? defineJob({ ...spec, batch, isolation: 'thread', module: batchModule })
    : defineJob({ ...spec, batch, runBatch: async (inputs: ClassifyInput[]) => (await classifier()).classifyBlobs(blobs, inputs) });
}

/**
 * onnxruntime and the model's code, loaded on the first inline classification: importing the
 * jobs must not cost every process the runtime's memory and start-up time (the thread variants
 * load it in their threads only).
 */
function classifier(): Promise<typeof classifyBlobsModule> {
  return import('./classify-blobs.js');
}

/** What the pipeline does with an image the model flags. */
export type ModerationPolicy = 'refuse' | 'flag';

export interface Verdict {
  /** The likeliest class. */
  top: ClassName;
  /** Porn + Hentai: the probability the image is explicit. */
  explicit: number;
  flagged: boolean;
  scores: Scores;
}

/** The verdict on a classified image: flagged when the explicit classes reach `threshold`. */
export function verdictOf(scores: Scores, threshold: number): Verdict {
  const top = classNames.reduce((best, name) => (scores[name] > scores[best] ? name : best));
  const explicit = scores.Porn + scores.Hentai;
  return { top, explicit, flagged: explicit >= threshold, scores };
}
