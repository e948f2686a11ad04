import { onnxModelBytes, type OnnxGraph, type OnnxNode } from './onnx-model-bytes.js';
import type { KerasLayer, KerasModel } from './keras-model-files.js';

/** A convolution still open to folding: a batch norm and an activation after it join it. */
interface Conv {
  input: string;
  output: string;
  /** ONNX layout [out, in / group, kh, kw]: the output channel is the first axis for both kinds. */
  weight: Float32Array;
  dims: number[];
  bias: Float32Array | undefined;
  group: number;
  attributes: Record<string, number[]>;
  activation: 'linear' | 'relu' | 'relu6';
}

/** What a Keras layer's output became: an ONNX tensor, its [c, h, w] (or [features]) shape. */
interface Value {
  name: string;
  shape: number[];
  /** A ZeroPadding2D not emitted yet, [top, left, bottom, right]: the next convolution takes it. */
  pads?: number[];
  conv?: Conv;
}

/**
 * Builds an ONNX graph (opset 13) from a Keras image model of the MobileNet family, for inference:
 * each batch norm folded into its convolution (w·γ/√(σ²+ε), bias (b−μ)·γ/√(σ²+ε)+β), ReLU6 as
 * Clip(0, 6) right after it (onnxruntime fuses Conv + Clip into one kernel), depthwise
 * convolutions as Conv with group = channels, ZeroPadding2D folded into the next convolution's
 * pads, a 'same' padding as TensorFlow computes it (the odd pixel at the end).
 *
 * The graph takes the images as they come out of the decoder: uint8, [n, h, w, 3] (NHWC, what
 * sharp writes). It transposes them to NCHW itself, and the model's input scaling (x / 255) is
 * folded into the first convolution's weights (a convolution is linear and zero padding stays
 * zero), so no pass over the pixels is spent on it. Known layers: InputLayer, ZeroPadding2D,
 * Conv2D, DepthwiseConv2D, BatchNormalization, ReLU, Add, AveragePooling2D, Flatten, Dense,
 * Dropout; any other throws.
 */
export function kerasToOnnx(model: KerasModel, options: { inputScale: number }): Uint8Array {
  const inputLayer = model.layers.find((layer) => layer.name === model.input);
  const [, height, width, channels] = inputLayer?.config['batch_input_shape'] as [null, number, number, number];
  const consumers = new Map<string, number>();
  for (const layer of model.layers) for (const from of inputsOf(layer)) consumers.set(from, (consumers.get(from) ?? 0) + 1);
  const graph: OnnxGraph = { nodes: [], initializers: [], input: { name: 'image', dims: [-1, height, width, channels] }, output: '' };
  const steps: (() => OnnxNode[])[] = [];
  const values = new Map<string, Value>();
  let ids = 0;
  const constant = (dims: number[], data: Float32Array) => {
    const name = `const_${ids++}`;
    graph.initializers.push({ name, dims, data });
    return name;
  };
  const weight = (name: string) => {
    const found = model.weights.get(name);
    if (!found) throw new Error(`weight ${name} is missing`);
    return found;
  };
  const emit = (nodes: OnnxNode[]) => steps.push(() => nodes);
  const read = (layer: KerasLayer, i = 0): Value => {
    const value = values.get(inputsOf(layer)[i]!)!;
    if (value.pads) throw new Error(`${layer.name}: a ZeroPadding2D is only supported before a convolution`);
    return value;
  };
  // A fold may only take a convolution nobody else reads.
  const foldable = (layer: KerasLayer): Conv | undefined => {
    const conv = values.get(inputsOf(layer)[0]!)?.conv;
    return conv && conv.activation === 'linear' && consumers.get(inputsOf(layer)[0]!) === 1 ? conv : undefined;
  };

  // The decoder's NHWC uint8 pixels to NCHW float; the scaling waits for the first convolution.
  emit([
    { op: 'Transpose', inputs: ['image'], output: 'image_nchw', attributes: { perm: [0, 3, 1, 2] } },
    { op: 'Cast', inputs: ['image_nchw'], output: 'pixels', attributes: { to: 1 } },
  ]);
  let inputScale: number | undefined = options.inputScale;
  values.set(model.input, { name: 'pixels', shape: [channels, height, width] });

  for (const layer of model.layers) {
    const config = layer.config;
    const name = layer.name;
    switch (layer.class_name) {
      case 'InputLayer':
        break;
      case 'ZeroPadding2D': {
        const [[top, bottom], [left, right]] = config['padding'] as [[number, number], [number, number]];
        const from = read(layer);
        values.set(name, {
          ...from,
          shape: [from.shape[0]!, from.shape[1]! + top + bottom, from.shape[2]! + left + right],
          pads: [top, left, bottom, right],
        });
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const depthwise = layer.class_name === 'DepthwiseConv2D';
        if ((config['activation'] ?? 'linear') !== 'linear') throw new Error(`${name}: a fused activation is not supported`);
        const from = values.get(inputsOf(layer)[0]!)!;
        const kernel = weight(`${name}/${depthwise ? 'depthwise_kernel' : 'kernel'}`);
        const [kh, kw, inC, m] = kernel.shape as [number, number, number, number];
        const outC = depthwise ? inC * m : m;
        const strides = config['strides'] as [number, number];
        const dilations = config['dilation_rate'] as [number, number];
        const padded = from.pads ?? [0, 0, 0, 0];
        const [pads, outH, outW] = padding(config['padding'] as string, from.shape, [kh, kw], strides, dilations);
        const data = toOnnxKernel(kernel.values, kh, kw, depthwise ? 1 : inC, outC);
        // The input scaling (x / 255) is linear: it joins the first convolution's weights.
        if (from.name === 'pixels' && inputScale !== undefined && consumers.get(model.input) === 1) {
          for (let i = 0; i < data.length; i++) data[i]! *= inputScale;
          inputScale = undefined;
        }
        const conv: Conv = {
          input: from.name,
          output: name,
          weight: data,
          dims: [outC, depthwise ? 1 : inC, kh, kw],
          bias: config['use_bias'] ? Float32Array.from(weight(`${name}/bias`).values) : undefined,
          group: depthwise ? inC : 1,
          attributes: { kernel_shape: [kh, kw], strides, dilations, pads: pads.map((p, i) => p + padded[i]!) },
          activation: 'linear',
        };
        steps.push(() => convNodes(conv, constant));
        values.set(name, { name, shape: [outC, outH, outW], conv });
        break;
      }
      case 'BatchNormalization': {
        if (config['axis'] !== -1 && config['axis'] !== 3) throw new Error(`${name}: only a channel-axis batch norm is supported`);
        const variance = weight(`${name}/moving_variance`).values;
        const mean = weight(`${name}/moving_mean`).values;
        const gamma = config['scale'] ? weight(`${name}/gamma`).values : new Float32Array(variance.length).fill(1);
        const beta = config['center'] ? weight(`${name}/beta`).values : new Float32Array(variance.length);
        const scale = variance.map((v, c) => gamma[c]! / Math.sqrt(v + (config['epsilon'] as number)));
        const shift = beta.map((b, c) => b - mean[c]! * scale[c]!);
        const conv = foldable(layer);
        if (conv) {
          const perChannel = conv.weight.length / scale.length;
          for (let i = 0; i < conv.weight.length; i++) conv.weight[i]! *= scale[Math.floor(i / perChannel)]!;
          conv.bias = conv.bias ? conv.bias.map((b, c) => b * scale[c]! + shift[c]!) : shift;
          values.set(name, values.get(inputsOf(layer)[0]!)!);
        } else {
          const from = read(layer);
          const c = scale.length;
          emit([
            { op: 'Mul', inputs: [from.name, constant([c, 1, 1], scale)], output: `${name}_scaled` },
            { op: 'Add', inputs: [`${name}_scaled`, constant([c, 1, 1], shift)], output: name },
          ]);
          values.set(name, { name, shape: from.shape });
        }
        break;
      }
      case 'ReLU': {
        const max = config['max_value'] as number | null | undefined;
        if ((config['negative_slope'] ?? 0) !== 0 || (config['threshold'] ?? 0) !== 0 || (max != null && max !== 6))
          throw new Error(`${name}: only ReLU and ReLU6 are supported`);
        const conv = foldable(layer);
        if (conv) {
          conv.activation = max === 6 ? 'relu6' : 'relu';
          values.set(name, values.get(inputsOf(layer)[0]!)!);
        } else {
          const from = read(layer);
          emit([activationNode(max === 6 ? 'relu6' : 'relu', from.name, name, constant)]);
          values.set(name, { name, shape: from.shape });
        }
        break;
      }
      case 'Add': {
        const inputs = inputsOf(layer).map((_, i) => read(layer, i));
        inputs.slice(1).forEach((next, i) =>
          emit([
            {
              op: 'Add',
              inputs: [i === 0 ? inputs[0]!.name : `${name}_${i}`, next.name],
              output: i === inputs.length - 2 ? name : `${name}_${i + 1}`,
            },
          ]),
        );
        values.set(name, { name, shape: inputs[0]!.shape });
        break;
      }
      case 'AveragePooling2D': {
        const from = read(layer);
        const pool = config['pool_size'] as [number, number];
        const strides = config['strides'] as [number, number];
        const [pads, outH, outW] = padding(config['padding'] as string, from.shape, pool, strides, [1, 1]);
        const global = pool[0] === from.shape[1] && pool[1] === from.shape[2] && outH === 1 && outW === 1;
        // TensorFlow's average leaves the padding out of the count.
        const attributes = { kernel_shape: pool, strides, pads, count_include_pad: 0 };
        emit([
          global
            ? { op: 'GlobalAveragePool', inputs: [from.name], output: name }
            : { op: 'AveragePool', inputs: [from.name], output: name, attributes },
        ]);
        values.set(name, { name, shape: [from.shape[0]!, outH, outW] });
        break;
      }
      case 'Flatten': {
        const from = read(layer);
        const [c, h, w] = from.shape as [number, number, number];
        // Keras flattens NHWC: back to that order first, unless the map is 1×1 and both agree.
        const nodes: OnnxNode[] =
          h * w === 1 ? [] : [{ op: 'Transpose', inputs: [from.name], output: `${name}_nhwc`, attributes: { perm: [0, 2, 3, 1] } }];
        nodes.push({ op: 'Flatten', inputs: [h * w === 1 ? from.name : `${name}_nhwc`], output: name, attributes: { axis: 1 } });
        emit(nodes);
        values.set(name, { name, shape: [c * h * w] });
        break;
      }
      case 'Dropout':
        values.set(name, read(layer));
        break;
      case 'Dense': {
        const from = read(layer);
        const activation = config['activation'] as string;
        if (!['linear', 'relu', 'softmax'].includes(activation)) throw new Error(`${name}: activation ${activation} is not supported`);
        const kernel = weight(`${name}/kernel`);
        const units = kernel.shape[1]!;
        const bias = config['use_bias'] ? weight(`${name}/bias`).values : new Float32Array(units);
        const linear = activation === 'linear' ? name : `${name}_linear`;
        const nodes: OnnxNode[] = [
          { op: 'Gemm', inputs: [from.name, constant(kernel.shape, kernel.values), constant([units], bias)], output: linear },
        ];
        if (activation === 'relu') nodes.push({ op: 'Relu', inputs: [linear], output: name });
        if (activation === 'softmax') nodes.push({ op: 'Softmax', inputs: [linear], output: name, attributes: { axis: 1 } });
        emit(nodes);
        values.set(name, { name, shape: [units] });
        break;
      }
      default:
        throw new Error(`${name}: layer ${layer.class_name} is not supported`);
    }
  }
  if (inputScale !== undefined) throw new Error('the input scaling could not be folded: the input does not go to one convolution');
  const output = values.get(model.output)!;
  graph.output = output.name;
  graph.nodes = steps.flatMap((step) => step());
  return onnxModelBytes(graph, output.shape);
}

function inputsOf(layer: KerasLayer): string[] {
  return (layer.inbound_nodes[0] ?? []).map(([from]) => from);
}

/**
 * ONNX pads [top, left, bottom, right] and the output size. 'same' is TensorFlow's: the output is
 * ceil(in / stride) and the odd padding pixel goes at the end (bottom, right).
 */
function padding(mode: string, [, h, w]: number[], kernel: number[], strides: number[], dilations: number[]): [number[], number, number] {
  const sizes = [h!, w!].map((size, i) => {
    const span = (kernel[i]! - 1) * dilations[i]! + 1;
    if (mode === 'valid') return { out: Math.floor((size - span) / strides[i]!) + 1, begin: 0, end: 0 };
    const out = Math.ceil(size / strides[i]!);
    const total = Math.max((out - 1) * strides[i]! + span - size, 0);
    return { out, begin: Math.floor(total / 2), end: total - Math.floor(total / 2) };
  });
  const [y, x] = sizes as [(typeof sizes)[0], (typeof sizes)[0]];
  return [[y.begin, x.begin, y.end, x.end], y.out, x.out];
}

/** Keras [kh, kw, in, out] to ONNX [out, in, kh, kw]; a depthwise [kh, kw, c, m] is the same with in = 1, out = c·m. */
function toOnnxKernel(keras: Float32Array, kh: number, kw: number, inC: number, outC: number): Float32Array {
  const onnx = new Float32Array(keras.length);
  for (let o = 0; o < outC; o++)
    for (let i = 0; i < inC; i++)
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) onnx[((o * inC + i) * kh + y) * kw + x] = keras[((y * kw + x) * inC + i) * outC + o]!;
  return onnx;
}

function convNodes(conv: Conv, constant: (dims: number[], data: Float32Array) => string): OnnxNode[] {
  const inputs = [conv.input, constant(conv.dims, conv.weight), ...(conv.bias ? [constant([conv.dims[0]!], conv.bias)] : [])];
  const linear = conv.activation === 'linear' ? conv.output : `${conv.output}_linear`;
  const nodes: OnnxNode[] = [{ op: 'Conv', inputs, output: linear, attributes: { ...conv.attributes, group: conv.group } }];
  if (conv.activation !== 'linear') nodes.push(activationNode(conv.activation, linear, conv.output, constant));
  return nodes;
}

function activationNode(kind: 'relu' | 'relu6', input: string, output: string, constant: (dims: number[], data: Float32Array) => string): OnnxNode {
  if (kind === 'relu') return { op: 'Relu', inputs: [input], output };
  return { op: 'Clip', inputs: [input, constant([], Float32Array.of(0)), constant([], Float32Array.of(6))], output };
}
