// The model behind the classify jobs: the bundled MobileNetV2 on onnxruntime. Its own entry
// ('@scalable-api/example-image-pipeline/model') because loading it costs memory in every process that imports it.
export { classifyImages, loadModel, type ImageToClassify, type LoadedModel } from './classify-image.js';
export { kerasToOnnx } from './keras-to-onnx.js';
export { readBundledMobileNetV2, type KerasModel } from './keras-model-files.js';
