import * as tf from '@tensorflow/tfjs';

/** A model's forward pass as one function of a `[n, h, w, c]` batch. */
export type Forward = (input: tf.Tensor4D) => tf.Tensor;

interface Step {
  name: string;
  inputs: string[];
  run(inputs: tf.Tensor[]): tf.Tensor;
}

/** A convolution still open to folding: the batch norm and the activation after it join it. */
interface ConvStep extends Step {
  conv: {
    depthwise: boolean;
    filter: tf.Tensor4D;
    bias: tf.Tensor1D | undefined;
    activation: 'linear' | 'relu' | 'relu6';
  };
}

type Layer = tf.layers.Layer;

/**
 * The Keras model's forward pass rebuilt as plain fused ops, for inference only. MobileNetV2 as
 * the Layers API runs it is 310 kernels a call: every convolution is followed by a separate batch
 * norm and a ReLU6 pass over its whole output, each a memory-bound sweep, plus the per-layer
 * bookkeeping of the Layers API. Here each batch norm is folded into its convolution's weights
 * (w·γ/√(σ²+ε), bias (b−μ)·γ/√(σ²+ε)+β) and the ReLU6 runs inside the convolution kernel
 * (XNNPACK's fused clamp), so a call is ~100 kernels and nothing but them. The outputs equal the
 * Layers model's up to float rounding (examples/image-pipeline/test/fuse-layers-model.test.ts).
 *
 * Returns `undefined` for a model with a layer this does not know (or a shared layer): the caller
 * then keeps `model.predict`. Known: InputLayer, ZeroPadding2D, Conv2D, DepthwiseConv2D,
 * BatchNormalization, ReLU, Add, AveragePooling2D, Flatten, Dense, Dropout.
 */
export function fuseLayersModel(model: tf.LayersModel): Forward | undefined {
  if (model.inputLayers.length !== 1 || model.outputLayers.length !== 1) return undefined;
  const consumers = new Map<string, number>();
  for (const layer of model.layers) {
    if (layer.inboundNodes.length !== 1) return undefined;
    for (const from of inputsOf(layer)) consumers.set(from, (consumers.get(from) ?? 0) + 1);
  }
  const steps: Step[] = [];
  /** The step whose output a layer's name now stands for (a folded layer points at its conv). */
  const alias = new Map<string, Step>();
  const source = (layer: Layer, i = 0) => alias.get(inputsOf(layer)[i]!)!.name;
  // A fold may only take a conv nobody else reads.
  const foldable = (layer: Layer): ConvStep | undefined => {
    const from = alias.get(inputsOf(layer)[0]!);
    return from && 'conv' in from && consumers.get(inputsOf(layer)[0]!) === 1 ? (from as ConvStep) : undefined;
  };
  const add = (layer: Layer, step: Step) => {
    steps.push(step);
    alias.set(layer.name, step);
  };
  for (const layer of model.layers) {
    const config = layer.getConfig() as Record<string, unknown>;
    const weights = layer.getWeights();
    switch (layer.getClassName()) {
      case 'InputLayer':
        alias.set(layer.name, { name: layer.name, inputs: [], run: () => tf.tensor(0) });
        break;
      case 'ZeroPadding2D': {
        const [[top, bottom], [left, right]] = config['padding'] as [[number, number], [number, number]];
        add(layer, {
          name: layer.name,
          inputs: [source(layer)],
          run: ([x]) =>
            tf.pad(x!, [
              [0, 0],
              [top, bottom],
              [left, right],
              [0, 0],
            ]),
        });
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const depthwise = layer.getClassName() === 'DepthwiseConv2D';
        if ((config['activation'] ?? 'linear') !== 'linear' || (depthwise && config['depthMultiplier'] !== 1)) return undefined;
        const strides = config['strides'] as [number, number];
        const dilations = config['dilationRate'] as [number, number];
        const pad = config['padding'] as 'same' | 'valid';
        const step: ConvStep = {
          name: layer.name,
          inputs: [source(layer)],
          conv: { depthwise, filter: weights[0] as tf.Tensor4D, bias: weights[1] as tf.Tensor1D | undefined, activation: 'linear' },
          run: ([x]) => {
            const { filter, bias, activation } = step.conv;
            const args = { x: x as tf.Tensor4D, filter, strides, pad, dilations, activation, ...(bias ? { bias } : {}) };
            return depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
          },
        };
        add(layer, step);
        break;
      }
      case 'BatchNormalization': {
        if (config['axis'] !== -1 && config['axis'] !== 3) return undefined;
        const epsilon = config['epsilon'] as number;
        const [gamma, beta, mean, variance] = weights as tf.Tensor1D[];
        if (!(config['center'] && config['scale']) || variance === undefined) return undefined;
        const scale = tf.tidy(() => gamma!.div<tf.Tensor1D>(variance.add(epsilon).sqrt()));
        const shift = tf.tidy(() => beta!.sub<tf.Tensor1D>(mean!.mul(scale)));
        const conv = foldable(layer);
        if (conv && conv.conv.activation === 'linear') {
          const { filter, bias, depthwise } = conv.conv;
          // The output channel is the filter's last axis for a conv, its input axis for a depthwise.
          const perChannel = depthwise ? scale.reshape([1, 1, -1, 1]) : scale;
          conv.conv.filter = filter.mul(perChannel);
          conv.conv.bias = bias ? bias.mul<tf.Tensor1D>(scale).add<tf.Tensor1D>(shift) : shift;
          alias.set(layer.name, conv);
        } else {
          add(layer, { name: layer.name, inputs: [source(layer)], run: ([x]) => x!.mul(scale).add(shift) });
        }
        break;
      }
      case 'ReLU': {
        const max = config['maxValue'] as number | null | undefined;
        if ((config['negativeSlope'] ?? 0) !== 0 || (config['threshold'] ?? 0) !== 0 || (max != null && max !== 6)) return undefined;
        const activation = max === 6 ? 'relu6' : 'relu';
        const conv = foldable(layer);
        if (conv && conv.conv.activation === 'linear') {
          conv.conv.activation = activation;
          alias.set(layer.name, conv);
        } else add(layer, { name: layer.name, inputs: [source(layer)], run: ([x]) => (max === 6 ? tf.relu6(x!) : tf.relu(x!)) });
        break;
      }
      case 'Add': {
        const inputs = inputsOf(layer).map((_, i) => source(layer, i));
        add(layer, { name: layer.name, inputs, run: (xs) => tf.addN(xs) });
        break;
      }
      case 'AveragePooling2D': {
        if (config['dataFormat'] !== 'channelsLast') return undefined;
        const pool = config['poolSize'] as [number, number];
        const strides = config['strides'] as [number, number];
        const pad = config['padding'] as 'same' | 'valid';
        add(layer, { name: layer.name, inputs: [source(layer)], run: ([x]) => tf.avgPool(x as tf.Tensor4D, pool, strides, pad) });
        break;
      }
      case 'Flatten':
        add(layer, { name: layer.name, inputs: [source(layer)], run: ([x]) => x!.reshape([x!.shape[0], -1]) });
        break;
      case 'Dropout':
        // Inference: the identity.
        alias.set(layer.name, alias.get(inputsOf(layer)[0]!)!);
        break;
      case 'Dense': {
        const activation = config['activation'] as string;
        if (!['linear', 'relu', 'softmax'].includes(activation)) return undefined;
        const [kernel, bias] = weights as [tf.Tensor2D, tf.Tensor1D | undefined];
        add(layer, {
          name: layer.name,
          inputs: [source(layer)],
          run: ([x]) => {
            const y = tf.fused.matMul({
              a: x as tf.Tensor2D,
              b: kernel,
              ...(bias ? { bias } : {}),
              activation: activation === 'relu' ? 'relu' : 'linear',
            });
            return activation === 'softmax' ? tf.softmax(y) : y;
          },
        });
        break;
      }
      default:
        return undefined;
    }
  }
  const input = model.inputLayers[0]!.name;
  const output = alias.get(model.outputLayers[0]!.name)!.name;
  return (batch) =>
    tf.tidy(() => {
      const values = new Map<string, tf.Tensor>([[input, batch]]);
      for (const step of steps) values.set(step.name, step.run(step.inputs.map((name) => values.get(name)!)));
      return values.get(output)!;
    });
}

function inputsOf(layer: Layer): string[] {
  return layer.inboundNodes[0]!.inboundLayers.map((from) => from.name);
}
