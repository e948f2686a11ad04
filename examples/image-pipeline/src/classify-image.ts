import * as tf from '@tensorflow/tfjs';
// Registers the WebAssembly backend; its .wasm files ship in the package and load from disk.
import '@tensorflow/tfjs-backend-wasm';
import { load, type NSFWJS } from 'nsfwjs/core';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';
import sharp from 'sharp';
import { fuseLayersModel, type Forward } from './fuse-layers-model.js';
import { ImageRejectedError } from './image-rejected-error.js';
import { classNames, type Scores } from './class-names.js';

export { classNames, type ClassName, type Scores } from './class-names.js';

const size = 224;

export interface LoadedModel {
  net: NSFWJS;
  /**
   * The forward pass that runs: the model with its batch norms folded into the convolutions
   * (fuseLayersModel, ~2x faster on the wasm backend), or `net.model.predict` if it cannot be fused.
   */
  forward: Forward;
  /** How long this thread took to set up the backend and load the weights. */
  loadMs: number;
}

let loaded: Promise<LoadedModel> | undefined;

/**
 * The bundled MobileNetV2 (weights inside the nsfwjs package: nothing is downloaded) on the wasm
 * backend, loaded once per thread and kept: every later batch on this thread reuses it.
 */
export function loadModel(): Promise<LoadedModel> {
  loaded ??= (async () => {
    const started = performance.now();
    await tf.setBackend('wasm');
    await tf.ready();
    // Named by its definition, so nsfwjs takes the weights from the package, never from a URL.
    const net = await quietly(() => load('MobileNetV2', { modelDefinitions: [MobileNetV2Model] }));
    const model = net.model;
    const forward = ('layers' in model ? fuseLayersModel(model) : undefined) ?? ((input: tf.Tensor4D) => model.predict(input) as tf.Tensor);
    return { net, forward, loadMs: performance.now() - started };
  })();
  // A failed load is retried by the next batch (the job's retry policy paces it).
  loaded.catch(() => (loaded = undefined));
  return loaded;
}

/** nsfwjs advertises its hosting docs with console.info on every load: that one line is dropped, nothing else. */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const info = console.info;
  console.info = (...args: unknown[]) => {
    if (!(typeof args[0] === 'string' && args[0].includes("You're using the model"))) info(...args);
  };
  try {
    return await work();
  } finally {
    console.info = info;
  }
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
 * Classifies images as one batch: one [n, 224, 224, 3] tensor through the model. An image that
 * cannot be read or decoded gets an Error in its place and stays out of the tensor: it fails alone.
 */
export async function classifyImages(images: readonly ImageToClassify[]): Promise<(Scores | Error)[]> {
  const decoded = await Promise.all(
    images.map(async ({ bytes, maxPixels }) => (bytes instanceof Error ? bytes : pixels(bytes, maxPixels).catch((error: unknown) => error as Error))),
  );
  const good = decoded.filter((item): item is Buffer => !(item instanceof Error));
  const scores: Scores[] = [];
  if (good.length > 0) {
    const { forward } = await loadModel();
    const batch = Buffer.concat(good);
    // One tensor for the whole batch, scaled to [0, 1] in one op: the per-call costs are paid once.
    const probabilities = tf.tidy(() => {
      const input = tf.tensor4d(new Uint8Array(batch.buffer, batch.byteOffset, batch.length), [good.length, size, size, 3], 'int32');
      return forward(input.toFloat().div(255));
    });
    const values = await probabilities.data();
    probabilities.dispose();
    for (let row = 0; row < good.length; row++) {
      scores.push(Object.fromEntries(classNames.map((name, i) => [name, values[row * classNames.length + i]!])) as Scores);
    }
  }
  let next = 0;
  return decoded.map((item) => (item instanceof Error ? item : scores[next++]!));
}
