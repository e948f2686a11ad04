export { SimulatedClock, flushMicrotasks } from './simulated-clock.js';
export { runStoreConformance, type StoreCapabilities, type StoreFactory, type StoreFactoryOptions, type StoreFixture } from './conformance/index.js';
export { runBlobStoreConformance, type BlobStoreConformanceOptions } from './blob-store-conformance.js';
