import * as tf from '@tensorflow/tfjs';
import { load } from 'nsfwjs/core';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/classify-image.js';
import { parseKerasModel, type ModelJson } from '../src/keras-model-files.js';
import { kerasToOnnx } from '../src/keras-to-onnx.js';

/** Three different 224×224 RGB images drawn with sharp: a gradient, a disc, stripes (uint8, NHWC). */
async function drawn(size: number): Promise<Uint8Array> {
  const images = await Promise.all(
    [0, 1, 2].map((kind) => {
      const pixels = Buffer.alloc(size * size * 3);
      for (let i = 0; i < pixels.length; i++) {
        const x = Math.floor(i / 3) % size;
        const y = Math.floor(i / 3 / size);
        const c = size / 2;
        pixels[i] =
          kind === 0 ? (x * 255) / size : kind === 1 ? ((x - c) ** 2 + (y - c) ** 2 < (size / 4) ** 2 ? 220 : 40) : (Math.floor(x / 16) % 2) * 255;
      }
      return sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
        .blur(1)
        .raw()
        .toBuffer();
    }),
  );
  return new Uint8Array(Buffer.concat(images));
}

/** What the Layers API predicts for the same uint8 images, scaled to [0, 1] as nsfwjs scales them. */
function predict(model: tf.LayersModel, pixels: Uint8Array, size: number): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor4d(pixels, [3, size, size, 3], 'int32').toFloat().div(255)) as tf.Tensor).dataSync() as Float32Array);
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}

async function run(session: ort.InferenceSession, pixels: Uint8Array, size: number): Promise<Float32Array> {
  const out = await session.run({ image: new ort.Tensor('uint8', pixels, [3, size, size, 3]) });
  return out[session.outputNames[0]!]!.data as Float32Array;
}

describe('kerasToOnnx', { timeout: 120_000 }, () => {
  it('gives the bundled MobileNetV2 on onnxruntime the outputs of tfjs predict, on images drawn with sharp', async () => {
    const pixels = await drawn(224);
    const { session } = await loadModel();
    const actual = await run(session, pixels, 224);
    const net = await load('MobileNetV2', { modelDefinitions: [MobileNetV2Model] });
    const expected = predict(net.model as tf.LayersModel, pixels, 224);
    expect(maxDifference(actual, expected)).toBeLessThan(1e-4);
    for (let row = 0; row < 3; row++) expect(actual.subarray(row * 5, row * 5 + 5).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('converts the rest of what it knows as tfjs computes it: odd sizes, a batch norm it cannot fold, pooling, a 3×3 flatten', async () => {
    const size = 17;
    const input = tf.input({ shape: [size, size, 3], name: 'pixels_in' });
    const pad = tf.layers
      .zeroPadding2d({
        padding: [
          [0, 1],
          [0, 1],
        ],
        name: 'pad',
      })
      .apply(input) as tf.SymbolicTensor;
    const conv = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'conv' })
      .apply(pad) as tf.SymbolicTensor;
    const same = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: true, name: 'same' })
      .apply(conv) as tf.SymbolicTensor;
    const norm = tf.layers.batchNormalization({ epsilon: 0.001, name: 'norm' }).apply(same) as tf.SymbolicTensor;
    const relu = tf.layers.reLU({ maxValue: 6, name: 'relu6' }).apply(norm) as tf.SymbolicTensor;
    // `same` is read twice (by the norm and by this sum): its batch norm cannot be folded.
    const sum = tf.layers.add({ name: 'sum' }).apply([relu, same]) as tf.SymbolicTensor;
    const depthwise = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: true, name: 'dw' }).apply(sum) as tf.SymbolicTensor;
    const pooled = tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'valid', name: 'pool' }).apply(depthwise) as tf.SymbolicTensor;
    const flat = tf.layers.flatten({ name: 'flat' }).apply(pooled) as tf.SymbolicTensor;
    const hidden = tf.layers.dense({ units: 6, activation: 'relu', name: 'hidden' }).apply(flat) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'out' }).apply(hidden) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    expect(pooled.shape).toEqual([null, 3, 3, 4]);
    // Non-trivial weights everywhere, so a wrong fold, layout or padding would show.
    for (const [i, layer] of model.layers.entries()) {
      layer.setWeights(
        layer.getWeights().map((w, j) => tf.randomUniform(w.shape, j === 3 && layer.name === 'norm' ? 0.5 : -1, 1.5, 'float32', i * 10 + j)),
      );
    }
    const artifacts = await new Promise<tf.io.ModelArtifacts>(
      (resolve) =>
        void model.save(
          tf.io.withSaveHandler(async (a) => (resolve(a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })),
        ),
    );
    const json = { modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: [], weights: artifacts.weightSpecs }] } as unknown as ModelJson;
    const bytes = kerasToOnnx(parseKerasModel(json, new Uint8Array(artifacts.weightData as ArrayBuffer)), { inputScale: 1 / 255 });
    const session = await ort.InferenceSession.create(bytes);
    const pixels = await drawn(size);
    expect(maxDifference(await run(session, pixels, size), predict(model, pixels, size))).toBeLessThan(1e-5);
  });

  it('refuses a layer it does not know', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const model = tf.model({ inputs: input, outputs: tf.layers.maxPooling2d({ poolSize: 2 }).apply(input) as tf.SymbolicTensor });
    const topology = model.toJSON(undefined, false) as unknown as ModelJson['modelTopology'];
    expect(() => kerasToOnnx(parseKerasModel({ modelTopology: topology, weightsManifest: [] }, new Uint8Array()), { inputScale: 1 })).toThrow(
      /MaxPooling2D is not supported/,
    );
  });
});
