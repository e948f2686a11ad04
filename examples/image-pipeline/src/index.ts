export { imagePipelineJobs, type ModerationOptions, type PipelineOptions } from './pipeline-jobs.js';
export { classifyJob, verdictOf, type ClassifyOptions, type ModerationPolicy, type Verdict } from './classify-job.js';
export { classifyImages, classNames, loadModel, type ClassName, type ImageToClassify, type Scores } from './classify-image.js';
export type { ClassifyInput } from './classify-blobs.js';
export { openBlobStore, type BlobLocation } from './blob-location.js';
export { readImageHeader, checkImage, type ImageHeader } from './image-header.js';
export { ImageRejectedError, reasonOf, type ImageRejection } from './image-rejected-error.js';
export { resizeImage, type ResizedImage, type ResizeInput } from './resize-image.js';
export { configFromEnv, createImagePipeline, type ImagePipeline, type PipelineConfig } from './pipeline-app.js';
