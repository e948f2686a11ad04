import onnxProto from 'onnx-proto';

// onnx-proto is the ONNX .proto compiled by protobufjs (a CommonJS module: its root is the default export).
const { onnx } = onnxProto;

/** An attribute: a number is an INT, a list INTS (the only kinds the converter needs). */
export interface OnnxNode {
  op: string;
  inputs: string[];
  output: string;
  attributes?: Record<string, number | number[]>;
}

/** A float32 constant. */
export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array;
}

/** A graph with one uint8 input (a -1 dimension is the batch) and one float output. */
export interface OnnxGraph {
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  input: { name: string; dims: number[] };
  output: string;
}

const opset = 13;

/** The ModelProto's bytes, what `InferenceSession.create` takes; the output is [batch, ...shape]. */
export function onnxModelBytes(graph: OnnxGraph, outputShape: number[]): Uint8Array {
  const dim = (size: number) => (size < 0 ? { dimParam: 'batch' } : { dimValue: size });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: '@scalable-api/example-image-pipeline',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'model',
      node: graph.nodes.map((node, i) => ({
        name: `${node.op}_${i}`,
        opType: node.op,
        input: node.inputs,
        output: [node.output],
        attribute: Object.entries(node.attributes ?? {}).map(([name, value]) =>
          Array.isArray(value)
            ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: value }
            : { name, type: onnx.AttributeProto.AttributeType.INT, i: value },
        ),
      })),
      initializer: graph.initializers.map(({ name, dims, data }) => ({
        name,
        dims,
        dataType: onnx.TensorProto.DataType.FLOAT,
        // ONNX raw data is little-endian, as every platform onnxruntime-node ships for.
        rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      })),
      input: [
        { name: graph.input.name, type: { tensorType: { elemType: onnx.TensorProto.DataType.UINT8, shape: { dim: graph.input.dims.map(dim) } } } },
      ],
      output: [
        { name: graph.output, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [-1, ...outputShape].map(dim) } } } },
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
