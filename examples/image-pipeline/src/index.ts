export { imagePipelineJobs, type ModerationOptions, type PipelineOptions } from './pipeline-jobs.js';
export { classifyJob, verdictOf, type ClassifyOptions, type ModerationPolicy, type Verdict } from './classify-job.js';
export { classNames, type ClassName, type Scores } from './class-names.js';
// The model itself (onnxruntime) is '@scalable-api/example-image-pipeline/model', so that
// importing the jobs does not load it.
export type { ImageToClassify, LoadedModel } from './classify-image.js';
export type { ClassifyInput } from './classify-blobs.js';
export { openBlobStore, type BlobLocation } from './blob-location.js';
export { readImageHeader, checkImage, type ImageHeader } from './image-header.js';
export { ImageRejectedError, reasonOf, type ImageRejection } from './image-rejected-error.js';
export { resizeImage, type ResizedImage, type ResizeInput } from './resize-image.js';
export { configFromEnv, createImagePipeline, type ImagePipeline, type PipelineConfig } from './pipeline-app.js';
