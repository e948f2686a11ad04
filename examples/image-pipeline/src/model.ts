// The model behind the classify jobs: TensorFlow.js with the bundled MobileNetV2. Its own entry
// ('@scalable-api/example-image-pipeline/model') because loading it costs ~100 MB of RSS.
export { classifyImages, loadModel, type ImageToClassify, type LoadedModel } from './classify-image.js';
export { fuseLayersModel, type Forward } from './fuse-layers-model.js';
