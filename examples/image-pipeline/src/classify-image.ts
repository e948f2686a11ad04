import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { readBundledMobileNetV2 } from './keras-model-files.js';
import { kerasToOnnx } from './keras-to-onnx.js';
import { ImageRejectedError } from './image-rejected-error.js';
import { classNames, type Scores } from './class-names.js';

export { classNames, type ClassName, type Scores } from './class-names.js';

const size = 224;

export interface LoadedModel {
  session: ort.InferenceSession;
  /** How long this thread took to read the weights, build the ONNX graph and create the session. */
  loadMs: number;
}

let loaded: Promise<LoadedModel> | undefined;

/**
 * onnxruntime's own threads per session. The pool already runs one session per inference thread
 * (threads × this ≤ cores − 1): a second level of parallelism on the same cores only adds
 * contention, and its spinning threads would take the core the event loop answers requests on.
 * With 1, `run` computes on the calling thread, so the classify thread's nice value applies to it.
 */
const intraOpThreads = Number(process.env['ORT_INTRA_OP_THREADS'] ?? 1);

/**
 * The bundled MobileNetV2 (weights inside the nsfwjs package: nothing is downloaded) as an ONNX
 * graph built in memory from those weights (kerasToOnnx), on onnxruntime's CPU kernels; loaded once
 * per thread and kept: every later batch on this thread reuses the session. The ~10 MB of bytes
 * are not written anywhere: building them takes a few hundred ms once per thread, and a cache file
 * would add a second copy of the model to keep in step with the package.
 */
export function loadModel(): Promise<LoadedModel> {
  loaded ??= (async () => {
    const started = performance.now();
    const bytes = kerasToOnnx(await readBundledMobileNetV2(), { inputScale: 1 / 255 });
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return { session, loadMs: performance.now() - started };
  })();
  // A failed load is retried by the next batch (the job's retry policy paces it).
  loaded.catch(() => (loaded = undefined));
  return loaded;
}

/** Decodes and scales an image to the model's 224×224 RGB input; a corrupt image is refused. */
async function pixels(bytes: Buffer, maxPixels: number): Promise<Buffer> {
  try {
    return await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' }).removeAlpha().resize(size, size, { fit: 'fill' }).raw().toBuffer();
  } catch (error) {
    throw new ImageRejectedError('IMAGE_CORRUPT', `the image could not be decoded: ${(error as Error).message}`);
  }
}

/** An image to classify: its bytes (or why they could not be read) and the decoding bound. */
export interface ImageToClassify {
  bytes: Buffer | Error;
  maxPixels: number;
}

/**
 * How many decoded images go into one `run`. onnxruntime gains nothing per image from larger
 * batches of this model (the convolutions are already large matrix products at 224×224; ~6 ms of
 * CPU per image at 1, 4 and 16), but a batch lets decoding overlap inference: every image's decode
 * starts at once on libuv's threads (sharp), and while this thread runs the first chunk the rest
 * keep decoding on another core. One image per call has nothing to overlap with.
 */
const runChunk = 4;

/**
 * Classifies images as one batch: the decoded images (sharp's output as it is, uint8 NHWC; the
 * graph transposes and scales it) run in chunks of `runChunk` as they are decoded. An image that
 * cannot be read or decoded gets an Error in its place and stays out of the tensors: it fails alone.
 */
export async function classifyImages(images: readonly ImageToClassify[]): Promise<(Scores | Error)[]> {
  const decoding = images.map(({ bytes, maxPixels }) =>
    bytes instanceof Error ? Promise.resolve(bytes) : pixels(bytes, maxPixels).catch((error: unknown) => error as Error),
  );
  const results: (Scores | Error)[] = [];
  for (let first = 0; first < decoding.length; first += runChunk) {
    const decoded = await Promise.all(decoding.slice(first, first + runChunk));
    const good = decoded.filter((item): item is Buffer => !(item instanceof Error));
    const scores = good.length > 0 ? await run(good) : [];
    let next = 0;
    for (const item of decoded) results.push(item instanceof Error ? item : scores[next++]!);
  }
  return results;
}

/** One `run`: the images concatenated into one uint8 [n, 224, 224, 3] tensor, the scores split by row. */
async function run(good: Buffer[]): Promise<Scores[]> {
  const { session } = await loadModel();
  const batch = good.length === 1 ? good[0]! : Buffer.concat(good);
  const input = new ort.Tensor('uint8', new Uint8Array(batch.buffer, batch.byteOffset, batch.length), [good.length, size, size, 3]);
  const output = await session.run({ [session.inputNames[0]!]: input });
  const values = output[session.outputNames[0]!]!.data as Float32Array;
  const scores: Scores[] = [];
  for (let row = 0; row < good.length; row++) {
    scores.push(Object.fromEntries(classNames.map((name, i) => [name, values[row * classNames.length + i]!])) as Scores);
  }
  return scores;
}
