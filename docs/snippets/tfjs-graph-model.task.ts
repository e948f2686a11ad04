// A batch thread module for your own TensorFlow.js graph model (docs/ml-jobs.md quotes this file;
// it is type-checked and linted with the code, not run by the tests).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { readFile } from 'node:fs/promises';
import type { ThreadBatchContext } from '@scalable-api/core';

const dir = new URL('./model/', import.meta.url);
let model: Promise<tf.GraphModel> | undefined;

/** model.json and its weight shards from disk, through an IOHandler: no URL, no network. */
function load(): Promise<tf.GraphModel> {
  return (model ??= (async () => {
    await tf.setBackend('wasm');
    const json = JSON.parse(await readFile(new URL('model.json', dir), 'utf8')) as tf.io.ModelJSON;
    const manifest = json.weightsManifest;
    const shards = await Promise.all(manifest.flatMap((group) => group.paths).map((path) => readFile(new URL(path, dir))));
    const weights = Buffer.concat(shards);
    return tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: manifest.flatMap((group) => group.weights),
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      }),
    );
  })());
}

export default async function predict(inputs: { features: number[] }[], _ctx: ThreadBatchContext): Promise<{ scores: number[] }[]> {
  const net = await load();
  const output = tf.tidy(() => net.predict(tf.tensor2d(inputs.map((i) => i.features))) as tf.Tensor);
  const rows = (await output.array()) as number[][];
  output.dispose();
  return rows.map((scores) => ({ scores }));
}
