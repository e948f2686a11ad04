export { runBlobStoreConformance } from './blob-store-conformance.js';
