export { imagePipelineJobs, type PipelineOptions } from './pipeline-jobs.js';
export { openBlobStore, type BlobLocation } from './blob-location.js';
export { readImageHeader, checkImage, type ImageHeader } from './image-header.js';
export { ImageRejectedError, reasonOf, type ImageRejection } from './image-rejected-error.js';
export { resizeImage, type ResizedImage, type ResizeInput } from './resize-image.js';
export { configFromEnv, createImagePipeline, type ImagePipeline, type PipelineConfig } from './pipeline-app.js';
