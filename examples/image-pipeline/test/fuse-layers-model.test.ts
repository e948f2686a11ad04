import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/classify-image.js';
import { fuseLayersModel } from '../src/fuse-layers-model.js';

/** Three different 224×224 RGB images drawn with sharp, as one [3, 224, 224, 3] batch in [0, 1]. */
async function drawnBatch(): Promise<tf.Tensor4D> {
  const size = 224;
  const images = await Promise.all(
    [0, 1, 2].map((kind) => {
      const pixels = Buffer.alloc(size * size * 3);
      for (let i = 0; i < pixels.length; i++) {
        const x = (i / 3) % size;
        const y = Math.floor(i / 3 / size);
        pixels[i] = kind === 0 ? x : kind === 1 ? ((x - 112) ** 2 + (y - 112) ** 2 < 60 ** 2 ? 220 : 40) : (Math.floor(x / 16) % 2) * 255;
      }
      return sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
        .blur(1)
        .raw()
        .toBuffer();
    }),
  );
  const bytes = Buffer.concat(images);
  return tf.tidy(() => tf.tensor4d(new Uint8Array(bytes), [3, size, size, 3], 'int32').toFloat().div<tf.Tensor4D>(255));
}

function maxDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => a.sub(b).abs().max().dataSync()[0]!);
}

describe('fuseLayersModel', { timeout: 120_000 }, () => {
  it('gives the bundled MobileNetV2 the same outputs as the Layers API, with the batch norms folded away', async () => {
    const { net, forward } = await loadModel();
    const model = net.model as tf.LayersModel;
    const fused = fuseLayersModel(model);
    expect(fused).toBeDefined();
    const input = await drawnBatch();
    const expected = model.predict(input) as tf.Tensor;
    for (const run of [fused!, forward]) {
      const actual = run(input);
      expect(actual.shape).toEqual([3, 5]);
      expect(maxDifference(actual, expected)).toBeLessThan(1e-4);
      actual.dispose();
    }
    // Fewer kernels per call is the point: no batch norm or separate ReLU6 is left.
    const profile = await tf.profile(() => fused!(input));
    const kinds = new Set(profile.kernels.map((k) => k.name));
    expect(kinds.has('FusedBatchNorm')).toBe(false);
    expect(kinds.has('ClipByValue')).toBe(false);
    expect(profile.kernels.length).toBeLessThan(200);
    input.dispose();
    expected.dispose();
  });

  it('keeps a batch norm whose convolution has a second reader, and refuses a layer it does not know', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(input) as tf.SymbolicTensor;
    const norm = tf.layers.batchNormalization({ epsilon: 0.001 }).apply(conv) as tf.SymbolicTensor;
    const relu = tf.layers.reLU({ maxValue: 6 }).apply(norm) as tf.SymbolicTensor;
    const sum = tf.layers.add().apply([relu, conv]) as tf.SymbolicTensor;
    const dense = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(tf.layers.flatten().apply(sum)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: dense });
    // Non-trivial batch-norm statistics, so a wrong fold would show.
    const bn = model.layers.find((l) => l.getClassName() === 'BatchNormalization')!;
    bn.setWeights([
      tf.tensor1d([1.5, 0.5, 2, 1]),
      tf.tensor1d([0.1, -0.2, 0.3, 0]),
      tf.tensor1d([0.2, -0.1, 0, 0.4]),
      tf.tensor1d([0.5, 2, 1, 0.25]),
    ]);
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const fused = fuseLayersModel(model);
    expect(fused).toBeDefined();
    expect(maxDifference(fused!(x), model.predict(x) as tf.Tensor)).toBeLessThan(1e-5);

    const pooled = tf.sequential({ layers: [tf.layers.maxPooling2d({ inputShape: [8, 8, 3], poolSize: 2 })] });
    expect(fuseLayersModel(pooled)).toBeUndefined();
  });
});
