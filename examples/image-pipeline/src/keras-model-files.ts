import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';

/** One layer of a Keras model as `tensorflowjs_converter` writes it in model.json. */
export interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  /** `[[[fromLayer, nodeIndex, tensorIndex, kwargs], …]]`: one inbound node, its inputs. */
  inbound_nodes: [string, number, number, unknown][][];
}

/** A weight in the Keras layout (a conv kernel is [kh, kw, in, out]), dequantized to float32. */
export interface KerasWeight {
  shape: number[];
  values: Float32Array;
}

/** A Keras functional model read from its files: the layers in order, the weights by name. */
export interface KerasModel {
  layers: KerasLayer[];
  input: string;
  output: string;
  weights: Map<string, KerasWeight>;
}

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { min: number; scale: number; dtype: string };
}

interface KerasTopology {
  class_name: string;
  config: { layers: KerasLayer[]; input_layers: [string][]; output_layers: [string][] };
}

/** model.json: `tensorflowjs_converter` nests the topology in `model_config`, tfjs's own `model.save` does not. */
export interface ModelJson {
  modelTopology: { model_config: KerasTopology } | KerasTopology;
  weightsManifest: { paths: string[]; weights: WeightEntry[] }[];
}

/**
 * The MobileNetV2 that nsfwjs 4.4.0 bundles, read from the package itself (its model.json and
 * its one weight shard, as JS modules in `node_modules`): no URL, no network, no TensorFlow.js.
 */
export async function readBundledMobileNetV2(): Promise<KerasModel> {
  const json = unwrap(await MobileNetV2Model.modelJson()) as ModelJson;
  const shards = await Promise.all(MobileNetV2Model.weightBundles.map(async (bundle) => Buffer.from(unwrap(await bundle()) as string, 'base64')));
  return parseKerasModel(json, Buffer.concat(shards));
}

/** nsfwjs's bundles are CommonJS modules: the value is `default` when imported from ESM. */
function unwrap(module: unknown): unknown {
  return typeof module === 'object' && module !== null && 'default' in module ? module.default : module;
}

/** Splits the weight bytes by the manifest, dequantizing uint8/uint16 weights (value = min + q·scale, as tfjs does). */
export function parseKerasModel(json: ModelJson, data: Uint8Array): KerasModel {
  const topology = json.modelTopology;
  const { config, class_name } = 'model_config' in topology ? topology.model_config : topology;
  if (class_name !== 'Model' && class_name !== 'Functional') throw new Error(`a Keras functional model was expected, not ${class_name}`);
  if (config.input_layers.length !== 1 || config.output_layers.length !== 1) throw new Error('one input and one output were expected');
  const weights = new Map<string, KerasWeight>();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  for (const entry of json.weightsManifest.flatMap((group) => group.weights)) {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(count);
    const q = entry.quantization;
    if (entry.dtype !== 'float32') throw new Error(`weight ${entry.name}: dtype ${entry.dtype} is not supported`);
    if (q?.dtype === 'uint8') {
      for (let i = 0; i < count; i++) values[i] = q.min + data[offset + i]! * q.scale;
      offset += count;
    } else if (q?.dtype === 'uint16') {
      for (let i = 0; i < count; i++) values[i] = q.min + view.getUint16(offset + 2 * i, true) * q.scale;
      offset += 2 * count;
    } else if (!q) {
      for (let i = 0; i < count; i++) values[i] = view.getFloat32(offset + 4 * i, true);
      offset += 4 * count;
    } else throw new Error(`weight ${entry.name}: quantization ${q.dtype} is not supported`);
    weights.set(entry.name, { shape: entry.shape, values });
  }
  if (offset !== data.length) throw new Error(`the weight files hold ${data.length} bytes, the manifest ${offset}`);
  return { layers: config.layers, input: config.input_layers[0]![0], output: config.output_layers[0]![0], weights };
}
